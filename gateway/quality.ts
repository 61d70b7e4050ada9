import type { Quality } from '../model/index.js';

export interface Sample {
  value: number;
  ts: number;
}

export interface CounterCheck {
  quality: Quality;
  reason?: string;
}

/**
 * Judge an energy counter reading against the previous one. Going backwards is a reset, or
 * a rollover when it wraps from near `rolloverAt` to near zero; rising faster than
 * `maxPowerW` is a spike. All three are `uncertain`: the value is what the device said, and
 * the store's per-bucket delta logic must not trust the step.
 */
export function checkCounter(
  prev: Sample | undefined,
  cur: Sample,
  options: { maxPowerW?: number | undefined; rolloverAt?: number | undefined } = {},
): CounterCheck {
  if (!prev) return { quality: 'good' };
  const delta = cur.value - prev.value;
  if (delta < 0) {
    const wrap = options.rolloverAt;
    if (wrap !== undefined && prev.value > wrap * 0.9 && cur.value < wrap * 0.1)
      return { quality: 'uncertain', reason: `counter rolled over (${prev.value} → ${cur.value})` };
    return { quality: 'uncertain', reason: `counter went backwards (${prev.value} → ${cur.value}): reset` };
  }
  if (options.maxPowerW !== undefined && cur.ts > prev.ts) {
    const hours = (cur.ts - prev.ts) / 3_600_000;
    if (delta > options.maxPowerW * hours * 1.5 + 1)
      return {
        quality: 'uncertain',
        reason: `counter jumped ${delta} Wh in ${cur.ts - prev.ts} ms (more than ${options.maxPowerW} W allows)`,
      };
  }
  return { quality: 'good' };
}

/** True when a value has not changed at all for `staleAfterMs` (a frozen device or CT). */
export function isFrozen(
  lastChangeTs: number | undefined,
  now: number,
  staleAfterMs: number | undefined,
): boolean {
  return staleAfterMs !== undefined && lastChangeTs !== undefined && now - lastChangeTs >= staleAfterMs;
}

export interface Published {
  value: number | null;
  quality: Quality;
  ts: number;
}

/**
 * Deadband filter: publish when there is nothing published yet, quality changed, the value
 * moved by more than `deadband`, or `maxSilenceMs` passed (so consumers can tell "steady"
 * from "gone"). A deadband of 0 publishes every poll.
 */
export function shouldPublish(
  last: Published | undefined,
  next: Published,
  deadband: number,
  maxSilenceMs: number,
): boolean {
  if (deadband === 0 || !last) return true;
  if (last.quality !== next.quality) return true;
  if ((last.value === null) !== (next.value === null)) return true;
  if (next.ts - last.ts >= maxSilenceMs) return true;
  return next.value !== null && last.value !== null && Math.abs(next.value - last.value) > deadband;
}

/** Multiply by a decimal scale without binary noise: 2301 × 0.1 → 230.1, not 230.10000000000002. */
export function scaleValue(raw: number, scale: number, offset: number): number {
  const inv = 1 / scale;
  const rounded = Math.round(inv);
  const scaled =
    Math.abs(scale) < 1 && rounded !== 0 && Math.abs(inv - rounded) < 1e-9 ? raw / rounded : raw * scale;
  return offset === 0 ? scaled : scaled + offset;
}
