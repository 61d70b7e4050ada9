import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration written as a number and a unit: `500ms`, `30s`, `15m`, `1h`, `1d`.
 * Parsed to milliseconds.
 */
export const DurationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like "30s", "15m", "1h" or "1d"')
  .transform((text) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
    return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  })
  .refine((ms) => ms > 0, 'a duration must be positive');

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
