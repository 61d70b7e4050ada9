import { localMidnightUtc, localTime } from '../../model/index.js';
import type { ReadingsRepository } from '../../store/index.js';
import { ForecastStore, type PowerTerm } from '../forecast-store.js';

const QUARTER_MS = 900_000;

/**
 * The billing month's highest 15-minute mean import so far, from the grid meter's readings in
 * the store: the LP's `peakSoFarKw` (README "Peak charges"). Only completed clock quarters of
 * the local month count (the one running at `nowMs` is still open); a quarter's mean is the
 * mean of its readings, which is the billed mean when the meter reports at a steady rate.
 * Export (negative power) never raises it; 0 when nothing was imported or measured. `terms`
 * sum to the grid import (e.g. the grid meter's active power, W).
 */
export async function monthPeakSoFar(
  readings: ReadingsRepository,
  terms: readonly PowerTerm[],
  nowMs: number,
  timezone: string,
): Promise<{ month: string; kw: number; quarters: number }> {
  const lt = localTime(nowMs, timezone);
  const from = localMidnightUtc(lt.year, lt.month, 1, timezone);
  const to = Math.floor(nowMs / QUARTER_MS) * QUARTER_MS;
  const month = lt.date.slice(0, 7);
  const slots = Math.max(0, Math.round((to - from) / QUARTER_MS));
  if (slots === 0) return { month, kw: 0, quarters: 0 };
  const series = await new ForecastStore(readings, 15).seriesKw(terms, from, slots);
  let kw = 0;
  let quarters = 0;
  for (const v of series) {
    if (v === null) continue;
    quarters++;
    kw = Math.max(kw, v);
  }
  return { month, kw, quarters };
}
