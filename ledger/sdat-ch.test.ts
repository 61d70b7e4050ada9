import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Flag, parseReadingsCsv } from './readings.js';
import { parseSdatCh } from './sdat-ch.js';
import { csvToSdatCh, exampleCsv } from './testing.js';

const FLAT = 'CH9999901234500000000000000000101';
const PV = 'CH9999901234500000000000000000900';
const T0 = Date.parse('2026-10-15T10:00:00Z');
const Q = 900_000;
const sample = async () => ({
  name: 'sample.xml',
  text: await readFile(new URL('./fixtures/sdat-ch-e66-sample.xml', import.meta.url), 'utf8'),
});

/** The sample with one piece of text replaced, for the refusals. */
async function broken(from: string | RegExp, to: string) {
  const s = await sample();
  const text = s.text.replace(from, to);
  expect(text).not.toBe(s.text);
  return () => parseSdatCh([{ name: 'bad.xml', text }]);
}

describe('SDAT-CH E66 load profiles', () => {
  it('reads the active energy of consumption and production points in exact mWh, flags and gaps', async () => {
    const b = parseSdatCh([await sample()]);
    expect([...b.meters.keys()]).toEqual([FLAT, PV]);
    const flat = b.meters.get(FLAT)!;
    expect(flat.get(T0)).toEqual([112_000, Flag.measured]);
    expect(flat.get(T0 + 2 * Q)).toEqual([105_000, Flag.sourceEstimated]);
    expect(flat.get(T0 + 5 * Q)).toEqual([63_500, Flag.measured]);
    expect(flat.size).toBe(8);
    // Condition 20: not available, left out so the gap rule estimates it.
    const pv = b.meters.get(PV)!;
    expect(pv.size).toBe(7);
    expect(pv.has(T0 + 7 * Q)).toBe(false);
    expect(pv.get(T0 + Q)).toEqual([4_630_000, Flag.measured]);
    expect(b).toMatchObject({ rows: 15, duplicates: 0, clamped: 0, skippedBlocks: 1, notAvailable: 1 });
    expect(b.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same batch as our CSV for the same readings', () => {
    const csv = exampleCsv(T0);
    const fromSdat = parseSdatCh(csvToSdatCh(csv, ['pv']));
    expect(fromSdat.meters).toEqual(parseReadingsCsv(csv).meters);
  });

  it('counts a document delivered twice as duplicates and refuses one that contradicts another', async () => {
    const s = await sample();
    expect(parseSdatCh([s, { ...s, name: 'again.xml' }]).duplicates).toBe(15);
    const changed = { name: 'changed.xml', text: s.text.replace('<rsm:Volume>0.098<', '<rsm:Volume>0.099<') };
    expect(() => parseSdatCh([s, changed])).toThrow(
      `changed.xml: MeteringData[0].Observation[1].Volume: ${FLAT} at 2026-10-15T10:15:00.000Z was already given as 98000 mWh (sample.xml MeteringData[0].Observation[1])`,
    );
  });

  it('names the element of every refusal', async () => {
    await expect(broken('<rsm:Volume>0.241<', '<rsm:Volume>0,241<')).resolves.toThrow(
      'bad.xml (SDAT-CH ValidatedMeteredData_12) is invalid: MeteringData[0].Observation[3].Volume: expected a decimal number of kWh',
    );
    await expect(broken('<rsm:Resolution>15<', '<rsm:Resolution>60<')).resolves.toThrow(
      /MeteringData\[0\]\.Resolution: is 60 MIN; only 15-minute load profiles/,
    );
    await expect(broken('<rsm:ebIXCode>E66<', '<rsm:ebIXCode>E31<')).resolves.toThrow(
      /DocumentType: expected E66/,
    );
    await expect(
      broken(
        /<rsm:Sequence>8<\/rsm:Sequence><\/rsm:Position><rsm:Volume>0.081/,
        '<rsm:Sequence>9</rsm:Sequence></rsm:Position><rsm:Volume>0.081',
      ),
    ).resolves.toThrow(
      "bad.xml: MeteringData[0].Observation[7].Position.Sequence: 9 is past the interval's 8 quarter-hours",
    );
    await expect(
      broken(
        '<rsm:StartDateTime>2026-10-15T10:00:00Z</rsm:StartDateTime>\n      <rsm:EndDateTime>2026-10-15T12:00:00Z</rsm:EndDateTime>\n    </rsm:Interval>',
        '<rsm:StartDateTime>2026-10-15T10:05:00Z</rsm:StartDateTime>\n      <rsm:EndDateTime>2026-10-15T12:00:00Z</rsm:EndDateTime>\n    </rsm:Interval>',
      ),
    ).resolves.toThrow(
      'MeteringData[0].Interval.StartDateTime: 2026-10-15T10:05:00Z is not on a quarter-hour',
    );
    await expect(
      broken('<rsm:MeasureUnit>KWH</rsm:MeasureUnit>', '<rsm:MeasureUnit>MWH</rsm:MeasureUnit>'),
    ).resolves.toThrow('MeteringData[0].Product.MeasureUnit: is MWH; expected KWH');
    expect(() => parseSdatCh([{ name: 'x.xml', text: '<Other/>' }])).toThrow(
      'x.xml: Other: expected a ValidatedMeteredData document (SDAT-CH E66)',
    );
    expect(() => parseSdatCh([{ name: 'x.xml', text: '<rsm:ValidatedMeteredData_12><a>' }])).toThrow(
      /^x\.xml: XML: /,
    );
  });

  it('names a prosumer point’s export channel apart from its import', async () => {
    const s = await sample();
    const text = s.text.replace(PV, FLAT);
    const b = parseSdatCh([{ name: 'prosumer.xml', text }]);
    expect([...b.meters.keys()].sort()).toEqual([FLAT, `${FLAT}-export`]);
  });
});
