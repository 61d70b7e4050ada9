import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { ForecastStore } from '../forecast-store.js';
import { fitLoadModel, loadForecastError, predictLoad, profileKw } from './load-model.js';

const Q = 900_000;
const DAY = 96;
const TZ = 'Europe/Zurich';
/** Monday 1 June 2026, 00:00 local (CEST). */
const MONDAY = Date.parse('2026-05-31T22:00Z');

describe('load model (pure)', () => {
  it('learns a profile per weekday and time, the newest week weighted by α', () => {
    // Three Mondays at 2, 4, 6 kW, Tuesdays at 10 kW; α = 0.5: 2 → 3 → 4.5.
    const kw: (number | null)[] = [];
    for (let w = 0; w < 3; w++)
      for (let d = 0; d < 7; d++)
        for (let s = 0; s < DAY; s++) kw.push(d === 0 ? 2 + 2 * w : d === 1 ? 10 : 1);
    const m = fitLoadModel({ startMs: MONDAY, slotMinutes: 15, kw }, { timezone: TZ, alpha: 0.5 });
    const nextMonday = MONDAY + 21 * DAY * Q;
    expect(profileKw(m, nextMonday + 40 * Q)).toBe(4.5);
    expect(profileKw(m, nextMonday + DAY * Q)).toBe(10);
  });

  it('falls back to the mean of other weekdays at that time for a weekday never seen', () => {
    const kw = Array.from({ length: 2 * DAY }, (_, t) => (t < DAY ? 2 : 4)); // Monday, Tuesday
    const m = fitLoadModel({ startMs: MONDAY, slotMinutes: 15, kw }, { timezone: TZ });
    expect(profileKw(m, MONDAY + 3 * DAY * Q)).toBe(3); // a Thursday
  });

  it('scales by the recent level, fading over the horizon, bounded', () => {
    const kw = Array.from({ length: 7 * DAY }, () => 2);
    const m = fitLoadModel({ startMs: MONDAY, slotMinutes: 15, kw }, { timezone: TZ, levelFadeHours: 6 });
    const start = MONDAY + 7 * DAY * Q;
    const f = predictLoad(m, start, 48, Array(12).fill(3));
    expect(f.level).toBeCloseTo(1.5, 12);
    expect(f.kw[0]).toBeCloseTo(3, 12);
    expect(f.kw[24]).toBeCloseTo(2 * (1 + 0.5 * Math.exp(-1)), 12); // 6 h later
    expect(predictLoad(m, start, 1, Array(12).fill(40)).level).toBe(2);
    expect(predictLoad(m, start, 1, []).level).toBe(1);
  });

  it('measures MAE, MAPE (near-zero actuals left out) and bias', () => {
    expect(loadForecastError([2, 2, 1, 0.5], [1, 4, null, 0.01])).toEqual({
      maeKw: (1 + 2 + 0.49) / 3,
      mapePercent: ((1 / 1 + 2 / 4) / 2) * 100,
      biasKw: (1 - 2 + 0.49) / 3,
      n: 3,
    });
    expect(loadForecastError([1], [null])).toEqual({ maeKw: null, mapePercent: null, biasKw: null, n: 0 });
  });
});

/** A small office: 1.5 kW at night and weekends, 8 kW working hours 07–18 local, seeded ±15 % noise. */
function office(weeks: number, level: (week: number) => number): number[] {
  let seed = 42;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + 0.3 * (seed / 2 ** 31 - 0.5);
  };
  return Array.from({ length: weeks * 7 * DAY }, (_, t) => {
    const day = Math.floor(t / DAY) % 7; // 0 = Monday
    const hour = ((t % DAY) * 15) / 60;
    const work = day < 5 && hour >= 7 && hour < 18;
    return (work ? 8 : 1.5) * noise() * level(Math.floor(t / (7 * DAY)));
  });
}

const METER = 'office/grid/power';

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`load forecast from a stored history on ${backend.name}`, () => {
    announceSkip(backend, 'optimizer load model');
    let store: Store;
    // Four weeks as usual, then a fifth running 20 % higher (a cold week, more heating).
    const truth = office(5, (w) => (w === 4 ? 1.2 : 1));
    beforeAll(async () => {
      store = await backend.open();
      await store.readings.describePoints([{ key: METER, kind: 'active_power', unit: 'W' }]);
      await store.readings.ingest(
        truth.map(
          (kw, t): Reading => ({
            pointId: METER,
            ts: MONDAY + t * Q + Q / 2,
            value: kw * 1000,
            quality: 'good',
          }),
        ),
      );
    });
    afterAll(async () => store?.close());

    it('beats last week’s values on the fifth week’s Tuesday, learnt from four weeks read back from the store', async () => {
      const history = new ForecastStore(store.readings);
      const terms = [{ pointId: METER, sign: 1 as const }];
      const learnt = await history.seriesKw(terms, MONDAY, 4 * 7 * DAY);
      expect(learnt.every((v) => v !== null)).toBe(true);
      const model = fitLoadModel({ startMs: MONDAY, slotMinutes: 15, kw: learnt }, { timezone: TZ });
      // Forecast Tuesday of week five at 07:00, with the 3 h before it (already 20 % up) as the level.
      const start = MONDAY + (4 * 7 + 1) * DAY * Q + 28 * Q;
      const recent = await history.seriesKw(terms, start - 12 * Q, 12);
      const actual = await history.seriesKw(terms, start, DAY);
      const f = predictLoad(model, start, DAY, recent);
      expect(f.level).toBeGreaterThan(1.1);
      const err = loadForecastError(f.kw, actual);
      const lastWeek = await history.seriesKw(terms, start - 7 * DAY * Q, DAY);
      const naive = loadForecastError(lastWeek as number[], actual);
      expect(err.n).toBe(DAY);
      expect(err.mapePercent!).toBeLessThan(naive.mapePercent!);
      expect(err.maeKw!).toBeLessThan(naive.maeKw!);
      expect(err.mapePercent!).toBeLessThan(15);
      console.info(
        `[${backend.name}] load forecast Tuesday wk5: MAE ${err.maeKw!.toFixed(2)} kW, MAPE ${err.mapePercent!.toFixed(1)} %, bias ${err.biasKw!.toFixed(2)} kW, level ${f.level.toFixed(2)}; last week's values: MAE ${naive.maeKw!.toFixed(2)} kW, MAPE ${naive.mapePercent!.toFixed(1)} %`,
      );
    });
  });
}
