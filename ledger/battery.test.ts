import { describe, expect, it } from 'vitest';
import { batteryPool } from './battery.js';
import { billPeriod } from './billing.js';
import { compileCommunity } from './community.js';
import { parseReadingsCsv } from './readings.js';
import { exampleCommunity } from './testing.js';

const kWh = (...v: number[]) => Float64Array.from(v, (x) => Math.round(x * 1_000_000));
const asKwh = (a: Float64Array) => [...a].map((x) => x / 1_000_000);

describe('shared battery in the solar pool (edge 15)', () => {
  // t0 PV charges 4 kWh; t1 the grid charges 2 kWh at night; t2–t4 the battery gives back
  // 3 + 2.4 + 1 kWh, of which only 5.4 kWh were ever stored (10 % round-trip loss, then 0.4 kWh
  // from before the period).
  const production = kWh(6, 0, 0, 0, 0);
  const charge = kWh(4, 2, 0, 0, 0);
  const discharge = kWh(0, 0, 3, 2.4, 1);
  const r = batteryPool(production, charge, discharge);

  it('keeps PV charging out of the pool and counts what the grid charged', () => {
    expect(asKwh(r.pool).slice(0, 2)).toEqual([2, 0]);
    expect(asKwh(r.gridCharged)).toEqual([0, 2, 0, 0, 0]);
  });

  it('gives back solar only in the proportion it went in, losses shared alike', () => {
    // content 4 solar + 2 grid: 3 kWh out are 2 solar + 1 grid; then 2.4 kWh are 1.6 + 0.8
    expect(asKwh(r.pool).slice(2, 4)).toEqual([2, 1.6]);
    expect(asKwh(r.gridDischarged).slice(2, 4)).toEqual([1, 0.8]);
  });

  it('counts a discharge beyond the tracked content as grid, never as solar', () => {
    // 0.6 kWh left (0.4 solar, 0.2 grid); 1 kWh out: 0.4 solar, the rest grid or unknown
    expect(asKwh(r.pool)[4]).toBe(0.4);
    expect(asKwh(r.gridDischarged)[4]).toBe(0.6);
    const solarOut = r.pool.reduce((s, v) => s + v, 0) - 2_000_000;
    expect(solarOut).toBeLessThanOrEqual(4_000_000);
  });

  it('never bills grid-charged energy as solar', () => {
    const config = exampleCommunity({ battery: { chargeMeter: 'bat-in', dischargeMeter: 'bat-out' } });
    const D0 = Date.UTC(2026, 10, 2);
    const rows = ['meter,start,kwh'];
    for (let t = 0; t < 5; t++) {
      const start = new Date(D0 + t * 900_000).toISOString();
      rows.push(`pv,${start},${production[t]! / 1e6}`, `bat-in,${start},${charge[t]! / 1e6}`);
      rows.push(`bat-out,${start},${discharge[t]! / 1e6}`);
      for (const u of ['A', 'B', 'C']) rows.push(`m-${u},${start},1`);
    }
    const period = { label: '2026-11-02', startMs: D0, endMs: D0 + 5 * 900_000 };
    const b = billPeriod(compileCommunity(config), period, parseReadingsCsv(rows.join('\n')));
    const solar = b.bills.reduce((s, x) => s + x.energy.solarMwh, 0);
    // 2 kWh straight from PV + 2 + 1.6 + 0.4 kWh of stored PV; the 2 kWh from the grid stay grid
    expect(solar).toBe(6_000_000);
    expect(b.summary.exportedMwh).toBe(0);
  });
});
