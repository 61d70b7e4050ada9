import { describe, expect, it } from 'vitest';
import {
  type DayProfile,
  dayMatchingBaseline,
  HIGH_4_OF_5,
  meterBeforeBaseline,
  TEN_OF_TEN,
} from './baseline.js';

const HOUR = 3_600_000;
/** A day of 24 hourly intervals: `base + h/10` kW in hour h. */
const day = (date: string, base: number): DayProfile => ({
  date,
  kw: Array.from({ length: 24 }, (_, h) => base + h / 10),
});
const dates = (n: number) =>
  Array.from({ length: n }, (_, i) => `2026-11-${String(20 - i).padStart(2, '0')}`);
const event = { startIndex: 14, endIndex: 16, intervalMs: HOUR }; // 14:00–16:00
/** The event day: `before(h)` in the hours before the event, `during` in it. */
const eventDay = (before: (h: number) => number, during: number[]): DayProfile => ({
  date: '2026-11-23',
  kw: Array.from({ length: 24 }, (_, h) => (h >= 14 && h < 16 ? during[h - 14]! : before(h))),
});

describe('CAISO 10-of-10 with the day-of adjustment', () => {
  // Days with bases 10..19: mean baseline 14.5 + h/10; over the adjustment hours 10–12 it sums to 46.8.
  const history = dates(10).map((d, i) => day(d, 10 + i));

  it('averages the 10 days and scales by the load over [t0 − 4 h, t0 − 1 h)', () => {
    const r = dayMatchingBaseline(
      history,
      eventDay((h) => 1.1 * (14.5 + h / 10), [12, 13]),
      event,
      TEN_OF_TEN,
    );
    expect(r.unadjustedKw[0]).toBeCloseTo(15.9, 9);
    expect(r.unadjustedKw[1]).toBeCloseTo(16.0, 9);
    expect(r.adjustment).toBeCloseTo(1.1, 9);
    expect(r.kw[0]).toBeCloseTo(17.49, 9);
    expect(r.kw[1]).toBeCloseTo(17.6, 9);
    expect(r.daysUsed).toHaveLength(10);
  });

  it('clamps the adjustment to 0.8–1.2', () => {
    const high = dayMatchingBaseline(
      history,
      eventDay((h) => 2 * (14.5 + h / 10), [0, 0]),
      event,
      TEN_OF_TEN,
    );
    expect(high.adjustment).toBe(1.2);
    expect(high.kw[0]).toBeCloseTo(19.08, 9);
    const low = dayMatchingBaseline(
      history,
      eventDay(() => 1, [0, 0]),
      event,
      TEN_OF_TEN,
    );
    expect(low.adjustment).toBe(0.8);
  });

  it('refuses to guess with too few days or an adjustment window before midnight', () => {
    expect(() =>
      dayMatchingBaseline(
        history.slice(0, 9),
        eventDay(() => 1, [0, 0]),
        event,
        TEN_OF_TEN,
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'GFX_MARKET_BASELINE_DATA',
        message: 'baseline needs 10 eligible days, got 9',
      }),
    );
    expect(() =>
      dayMatchingBaseline(
        history,
        eventDay(() => 1, [0, 0]),
        { ...event, startIndex: 2, endIndex: 4 },
        TEN_OF_TEN,
      ),
    ).toThrow(expect.objectContaining({ code: 'GFX_MARKET_BASELINE_DATA' }));
  });
});

describe('PJM High 4 of 5 with the symmetric additive adjustment', () => {
  /** The same event day each time (13 kW and rising before the event, 10 and 9 kW during it). */
  const high4of5 = (history: DayProfile[]) =>
    dayMatchingBaseline(
      history,
      eventDay((h) => 13 + h / 10, [10, 9]),
      event,
      HIGH_4_OF_5,
    );

  it('keeps the 4 highest of the last 5 days, then adds the mean gap over the 3 hours from t0 − 4 h', () => {
    const [d1, d2, d3, d4, d5, d6] = dates(6);
    // Event-window means: 11.45, 10.45, 13.45, 15.45, 12.45 → drop the 9-day; the 6th day is out of range.
    const history = [day(d1!, 10), day(d2!, 9), day(d3!, 12), day(d4!, 14), day(d5!, 11), day(d6!, 30)];
    const r = high4of5(history);
    expect(r.daysUsed).toEqual([d4, d3, d5, d1]);
    expect(r.unadjustedKw[0]).toBeCloseTo(11.75 + 1.4, 9);
    expect(r.adjustment).toBeCloseTo(1.25, 9); // 13 − 11.75 in hours 10–12
    expect(r.kw[0]).toBeCloseTo(14.4, 9);
    expect(r.kw[1]).toBeCloseTo(14.5, 9);
  });

  it('drops low-usage days (below 25 % of the 5-day mean over the event hours)', () => {
    const [d1, d2, d3, d4, d5] = dates(5);
    // Means 11.45, 1.95, 13.45, 15.45, 12.45: overall 10.95, a quarter is 2.7375 → the 0.5-day goes.
    const history = [day(d1!, 10), day(d2!, 0.5), day(d3!, 12), day(d4!, 14), day(d5!, 11)];
    const r = high4of5(history);
    expect(r.daysUsed).toEqual([d4, d3, d5, d1]);
    expect(r.unadjustedKw[0]).toBeCloseTo(13.15, 9);
  });
});

describe('meter before activation', () => {
  it('is the mean of the readings in the window just before the activation', () => {
    const samples = Array.from({ length: 120 }, (_, s) => ({ tMs: s * 1000, kw: 100 + (s % 2 ? 2 : -2) }));
    samples.push({ tMs: 120_000, kw: 50 }); // at the activation: not part of the baseline
    expect(meterBeforeBaseline(samples, 120_000, 60_000)).toBe(100);
    expect(meterBeforeBaseline([...samples.slice(0, 59), { tMs: 59_500, kw: 999 }], 60_000, 1000)).toBe(999);
  });

  it('refuses an empty window', () => {
    expect(() => meterBeforeBaseline([{ tMs: 0, kw: 1 }], 120_000, 60_000)).toThrow(
      expect.objectContaining({ code: 'GFX_MARKET_BASELINE_DATA' }),
    );
  });
});
