import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { clearSkyPvKw, fallbackLoadKw } from './forecast.js';
import { ForecastStore, type PowerTerm } from './forecast-store.js';

const Q = 900_000;
const WEEK = 7 * 86_400_000;
/** Monday 2026-06-22 00:00 UTC: the horizon forecast below starts here. */
const START = Date.UTC(2026, 5, 22);
const BERN = { lat: 46.95, lon: 7.45 };
const GRID = 's/grid/power';
const PV = 's/pv/power';
const TERMS: PowerTerm[] = [
  { pointId: GRID, sign: 1 },
  { pointId: PV, sign: 1 },
];

const reading = (pointId: string, ts: number, w: number): Reading => ({
  pointId,
  ts,
  value: w,
  quality: 'good',
});

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`forecasts from the store on ${backend.name}`, () => {
    announceSkip(backend, 'optimizer forecasts');
    let store: Store;
    let forecasts: ForecastStore;
    beforeAll(async () => {
      store = await backend.open();
      await store.readings.describePoints([
        { key: GRID, kind: 'active_power', unit: 'W' },
        { key: PV, kind: 'active_power', unit: 'W' },
      ]);
      const batch: Reading[] = [];
      // One week ago: grid 1 kW + PV 1 kW = 2 kW base load in slots 0..3 (two readings per slot);
      // two weeks ago: 4 kW in slots 0..1; a Tuesday (a day off the weekday) 50 kW, which must not count.
      for (let t = 0; t < 4; t++)
        for (const off of [0, Q / 2]) {
          batch.push(
            reading(GRID, START - WEEK + t * Q + off, 1000),
            reading(PV, START - WEEK + t * Q + off, 1000),
          );
          if (t < 2)
            batch.push(
              reading(GRID, START - 2 * WEEK + t * Q + off, 3000),
              reading(PV, START - 2 * WEEK + t * Q + off, 1000),
            );
          batch.push(reading(GRID, START - 6 * 86_400_000 + t * Q + off, 50_000));
        }
      // The PV a week before the Monday being judged, at 60 % of clear sky, for every daytime slot.
      const days = 7;
      const from = START - days * 86_400_000;
      const clear = clearSkyPvKw(BERN, 30, from, days * 96, 15);
      clear.forEach((kw, t) => {
        if (kw > 0) batch.push(reading(PV, from + t * Q + Q / 2, kw * 600));
      });
      await store.readings.ingest(batch);
    });
    afterAll(async () => store?.close());

    it('forecasts base load from the same weekday and time in past weeks, falling back where none', async () => {
      forecasts = new ForecastStore(store.readings);
      const fallback = fallbackLoadKw(START, 6, 15, 'Europe/Zurich', 3);
      const f = await forecasts.baseLoad({ terms: TERMS, startMs: START, fallbackKw: fallback, weeks: 3 });
      // slots 0,1: mean of 2 and 4 kW; slots 2,3: 2 kW (one week); 4,5: nothing measured → fallback.
      expect(f.kw.slice(0, 4)).toEqual([3, 3, 2, 2]);
      expect(f.weeks).toEqual([2, 2, 1, 1, 0, 0]);
      expect(f.kw.slice(4)).toEqual(fallback.slice(4));
    });

    it('leaves out slots where one of the terms is missing, and points never measured', async () => {
      // Six days ago only the grid point has readings: no base load can be formed there.
      const s = await forecasts.seriesKw(TERMS, START - 6 * 86_400_000, 2);
      expect(s).toEqual([null, null]);
      const none = await forecasts.seriesKw([{ pointId: 's/unknown/power', sign: 1 }], START, 2);
      expect(none).toEqual([null, null]);
    });

    it('measures the PV yield factor against clear sky over recent days', async () => {
      const y = await forecasts.pvYield({
        term: { pointId: PV, sign: 1 },
        location: BERN,
        kwp: 30,
        endMs: START,
      });
      // A clear June day in Bern gives 30 kWp × ≈ 8 h-equivalents; a week: well over 1,000 kWh.
      expect(y.clearSkyKwh).toBeGreaterThan(1000);
      // 60 % of clear sky, plus the 1 kWh of the base-load test's PV readings at night a week ago.
      expect(y.measuredKwh).toBeCloseTo(0.6 * y.clearSkyKwh + 1, 6);
      expect(y.factor).toBeCloseTo(y.measuredKwh / y.clearSkyKwh, 12);
      expect(y.factor).toBeCloseTo(0.6, 2);
    });

    it('reports the forecast error against what was measured', async () => {
      // A forecast of 2.5 kW for the four slots a week ago (actual 2, 2, 2, 2): MAE 0.5, bias +0.5.
      const e = await forecasts.error([2.5, 2.5, 2.5, 1.5], TERMS, START - WEEK);
      expect(e).toEqual({ maeKw: 0.5, biasKw: 0.25, n: 4 });
    });
  });
}
