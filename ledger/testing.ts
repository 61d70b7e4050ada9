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
