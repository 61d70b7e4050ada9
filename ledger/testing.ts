import { type CommunityConfig, CommunitySchema } from './community.js';

/**
 * The worked example of ledger.md § 7.6/7.7 as a community: flats A, B, C with static shares
 * 50/30/20, solar at the 80 % cap (24.00 of a 30.00 Rp/kWh reference), grid at 28.05 Rp/kWh.
 */
export function exampleCommunity(overrides: Partial<CommunityConfig> = {}): CommunityConfig {
  return CommunitySchema.parse({
    id: 'zev-example',
    name: 'ZEV Example',
    timezone: 'Europe/Zurich',
    currency: 'CHF',
    allocation: { method: 'dynamic' },
    gridMeter: 'grid',
    production: [{ meter: 'pv' }],
    units: ['A', 'B', 'C'].map((id, i) => ({
      id,
      name: `Flat ${id}`,
      kind: 'apartment',
      meter: `m-${id}`,
      sharePercent: ['50', '30', '20'][i],
      owner: 'Owner AG',
    })),
    members: ['A', 'B', 'C'].map((id) => ({
      id: `t-${id}`,
      name: `Tenant ${id}`,
      unit: id,
      role: 'tenant',
      from: '2026-01-01',
    })),
    tariffs: [
      {
        version: '2026',
        validFrom: '2026-01-01',
        solar: { variant: 'flat-80', price: '0.24', referencePrice: '0.30' },
        grid: { zones: [{ name: 'single', price: '0.2805' }] },
        feedIn: { price: '0.10' },
      },
    ],
    feedInKey: [{ party: 'Owner AG', percent: 100 }],
    ...overrides,
  });
}

/** § 7.6 readings (kWh) for 4 quarter-hours from `startMs`, as CSV. */
export function exampleCsv(startMs: number): string {
  const P = ['6', '9', '2', '3'];
  const c = [
    ['1', '2', '3'],
    ['1', '2', '3'],
    ['1', '1', '1'],
    ['2', '0', '4'],
  ];
  const rows = ['meter,start,kwh'];
  for (let t = 0; t < 4; t++) {
    const start = new Date(startMs + t * 900_000).toISOString();
    rows.push(`pv,${start},${P[t]}`);
    for (const [i, u] of ['A', 'B', 'C'].entries()) rows.push(`m-${u},${start},${c[t]![i]}`);
  }
  return `${rows.join('\n')}\n`;
}

/**
 * Our readings CSV as SDAT-CH E66 documents, one per meter (one MeteringData block from its
 * first to its last interval, which must be contiguous): `production` meters become
 * ProductionMeteringPoints, `estimated` rows Condition 56.
 */
export function csvToSdatCh(csv: string, production: readonly string[]): { name: string; text: string }[] {
  const byMeter = new Map<string, { start: number; kwh: string; quality: string }[]>();
  const [head, ...lines] = csv.trim().split('\n');
  const cols = head!.split(',');
  for (const line of lines) {
    const cells = line.split(',');
    const get = (c: string) => cells[cols.indexOf(c)] ?? '';
    const rows = byMeter.get(get('meter')) ?? [];
    rows.push({ start: Date.parse(get('start')), kwh: get('kwh'), quality: get('quality') });
    byMeter.set(get('meter'), rows);
  }
  return [...byMeter].map(([meter, rows]) => {
    rows.sort((a, b) => a.start - b.start);
    const start = rows[0]!.start;
    const end = rows.at(-1)!.start + 900_000;
    const point = production.includes(meter) ? 'ProductionMeteringPoint' : 'ConsumptionMeteringPoint';
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    const observations = rows
      .map(
        (r) =>
          `<rsm:Observation><rsm:Position><rsm:Sequence>${(r.start - start) / 900_000 + 1}</rsm:Sequence></rsm:Position><rsm:Volume>${r.kwh}</rsm:Volume><rsm:Condition>${r.quality === 'estimated' ? 56 : 21}</rsm:Condition></rsm:Observation>`,
      )
      .join('\n');
    const text = `<?xml version="1.0" encoding="UTF-8"?>
<rsm:ValidatedMeteredData_12 xmlns:rsm="http://www.strom.ch">
<rsm:ValidatedMeteredData_HeaderInformation><rsm:InstanceDocument><rsm:DocumentID>${meter}-${start}</rsm:DocumentID><rsm:DocumentType><rsm:ebIXCode>E66</rsm:ebIXCode></rsm:DocumentType></rsm:InstanceDocument></rsm:ValidatedMeteredData_HeaderInformation>
<rsm:MeteringData>
<rsm:Interval><rsm:StartDateTime>${iso(start)}</rsm:StartDateTime><rsm:EndDateTime>${iso(end)}</rsm:EndDateTime></rsm:Interval>
<rsm:Resolution><rsm:Resolution>15</rsm:Resolution><rsm:Unit>MIN</rsm:Unit></rsm:Resolution>
<rsm:${point}><rsm:VSENationalID>${meter}</rsm:VSENationalID></rsm:${point}>
<rsm:Product><rsm:ID><rsm:ebIXCode>8716867000030</rsm:ebIXCode></rsm:ID><rsm:MeasureUnit>KWH</rsm:MeasureUnit></rsm:Product>
${observations}
</rsm:MeteringData>
</rsm:ValidatedMeteredData_12>
`;
    return { name: `${meter}.xml`, text };
  });
}
