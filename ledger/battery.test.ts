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

describe('battery content carried over between periods', () => {
  const production = kWh(6, 0, 0);
  const charge = kWh(4, 2, 0);
  const discharge = kWh(0, 0, 3);

  it('starts from the opening content and closes with what is left, part by part', () => {
    const r = batteryPool(production, charge, discharge, { solarMwh: 2_000_000, gridMwh: 0 });
    // content 6 solar + 2 grid: 3 kWh out are 2.25 solar + 0.75 grid
    expect(asKwh(r.pool)[2]).toBe(2.25);
    expect(r.closing).toEqual({ solarMwh: 3_750_000, gridMwh: 1_250_000 });
    // Split in two periods, the same as in one.
    const whole = batteryPool(kWh(6, 0, 0, 0), kWh(4, 2, 0, 0), kWh(0, 0, 3, 1));
    const first = batteryPool(kWh(6, 0), kWh(4, 2), kWh(0, 0));
    const second = batteryPool(kWh(0, 0), kWh(0, 0), kWh(3, 1), first.closing);
    expect([...first.pool, ...second.pool]).toEqual([...whole.pool]);
    expect(second.closing).toEqual(whole.closing);
  });

  it('cuts the tracked content back to the capacity, solar rounded down', () => {
    const r = batteryPool(kWh(10), kWh(10), kWh(0), { solarMwh: 0, gridMwh: 1_000_001 }, 3_000_000);
    expect(r.closing.solarMwh + r.closing.gridMwh).toBe(3_000_000);
    expect(r.closing.solarMwh).toBe(Math.floor((3_000_000 * 10_000_000) / 11_000_001));
  });

  it('bills the next month with the content the ledger recorded at the end of the last', async () => {
    const { openStore } = await import('../store/index.js');
    const { Ledger } = await import('./chain.js');
    const { issueBills } = await import('./issue.js');
    const store = await openStore({ dataDir: 'memory://' });
    try {
      const ledger = await Ledger.open(store, { keys: (await import('./keys.js')).ephemeralKeyring() });
      const config = compileCommunity(
        exampleCommunity({ battery: { chargeMeter: 'bat-in', dischargeMeter: 'bat-out' } }),
      );
      const D0 = Date.UTC(2026, 10, 2);
      const Q = 900_000;
      // Day one: PV charges 4 kWh at the last interval. Day two: 3 kWh come back at night.
      const csv = (start: number, pv: number[], inn: number[], out: number[]) => {
        const rows = ['meter,start,kwh'];
        pv.forEach((_, t) => {
          const s = new Date(start + t * Q).toISOString();
          rows.push(`pv,${s},${pv[t]}`, `bat-in,${s},${inn[t]}`, `bat-out,${s},${out[t]}`);
          for (const u of ['A', 'B', 'C']) rows.push(`m-${u},${s},1`);
        });
        return parseReadingsCsv(rows.join('\n'));
      };
      const day1 = { label: 'd1', startMs: D0, endMs: D0 + 2 * Q };
      const day2 = { label: 'd2', startMs: D0 + 2 * Q, endMs: D0 + 4 * Q };
      const r1 = await issueBills(ledger, config, day1, csv(D0, [0, 4], [0, 4], [0, 0]));
      expect(r1.billing.summary.battery!.closing).toEqual({ solarMwh: 4_000_000, gridMwh: 0 });
      const r2 = await issueBills(ledger, config, day2, csv(D0 + 2 * Q, [0, 0], [0, 0], [3, 0]));
      expect(r2.billing.summary.battery!.opening).toEqual({ solarMwh: 4_000_000, gridMwh: 0 });
      // Without the carry-over the 3 kWh would have counted as grid; now they are solar.
      expect(r2.bills.reduce((s, b) => s + b.energy.solarMwh, 0)).toBe(3_000_000);
      // Billing day two again with the same readings leaves its bills as they are.
      const again = await issueBills(ledger, config, day2, csv(D0 + 2 * Q, [0, 0], [0, 0], [3, 0]));
      expect(again.status).toBe('unchanged');
    } finally {
      await store.close();
    }
  }, 60_000);
});
