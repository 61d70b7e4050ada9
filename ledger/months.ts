import { QUARTER_MS, type ReadingsBatch } from './readings.js';
import { localTime, monthPeriod } from './time.js';

function monthLabel(year: number, month: number): string {
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** The month before the one `nowMs` falls in, in the community's zone. */
export function lastCompleteMonth(nowMs: number, tz: string): string {
  const lt = localTime(nowMs, tz);
  return lt.month === 1 ? monthLabel(lt.year - 1, 12) : monthLabel(lt.year, lt.month - 1);
}

/** Every month the batch covers completely (all meters, every interval), oldest first. */
export function completeMonths(batch: ReadingsBatch, tz: string): string[] {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const series of batch.meters.values())
    for (const t of series.keys()) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  if (first > last) return [];
  const out: string[] = [];
  let { year, month } = localTime(first, tz);
  for (;;) {
    const p = monthPeriod(monthLabel(year, month), tz);
    if (p.startMs > last) break;
    const whole = [...batch.meters.values()].every((s) => {
      for (let t = p.startMs; t < p.endMs; t += QUARTER_MS) if (!s.has(t)) return false;
      return true;
    });
    if (whole) out.push(p.label);
    month = month === 12 ? 1 : month + 1;
    if (month === 1) year++;
  }
  return out;
}
