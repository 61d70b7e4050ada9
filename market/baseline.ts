import { z } from 'zod';
import { GridflexError } from '../model/index.js';
import { MARKET_ERRORS } from './errors.js';

/**
 * Baselines: what a site would have drawn without the activation. Definitions from
 * ../shared/reference/markets.md B6. Demand is mean kW per metering interval, consumption
 * positive. Pure functions: eligibility of days (same day type, not an event day, not a
 * holiday) is the caller's job, which keeps calendars and time zones out of here.
 */

/** One day's metered demand per interval (index 0 = the first interval after local midnight). */
export const DayProfileSchema = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  kw: z.array(z.number()),
});
export type DayProfile = z.infer<typeof DayProfileSchema>;

const AdjustmentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  /** r = ΣL/ΣB over the window, clamped; B' = r·B (CAISO). */
  z.object({
    kind: z.literal('multiplicative'),
    fromHoursBefore: z.number().positive(),
    toHoursBefore: z.number().nonnegative(),
    min: z.number().positive(),
    max: z.number().positive(),
  }),
  /** a = mean(L − B) over the window; B' = B + a, uncapped (PJM symmetric additive). */
  z.object({
    kind: z.literal('additive'),
    fromHoursBefore: z.number().positive(),
    toHoursBefore: z.number().nonnegative(),
  }),
]);

export const DayMatchingSchema = z.object({
  /** Most recent eligible days looked at (Y). */
  days: z.number().int().positive(),
  /** Days averaged (X). */
  keep: z.number().int().positive(),
  /** `highest`: keep the X days with the highest mean load over the event window. */
  select: z.enum(['all', 'highest']),
  /** Drop days whose event-window mean is below this share of the Y-day mean (PJM: 0.25). */
  lowUsageFraction: z.number().min(0).max(1).optional(),
  adjustment: AdjustmentSchema,
});
export type DayMatching = z.infer<typeof DayMatchingSchema>;

/**
 * CAISO 10-of-10 with the day-of adjustment over [t0 − 4 h, t0 − 1 h), clamped to 0.8–1.2
 * (markets.md B6.1; LBNL's defaults).
 */
export const TEN_OF_TEN: DayMatching = {
  days: 10,
  keep: 10,
  select: 'all',
  adjustment: { kind: 'multiplicative', fromHoursBefore: 4, toHoursBefore: 1, min: 0.8, max: 1.2 },
};

/**
 * PJM High 4 of 5 with the symmetric additive adjustment over the 3 hours starting 4 hours
 * before the event (markets.md B6.2, marked there as from domain knowledge [unverified]).
 */
export const HIGH_4_OF_5: DayMatching = {
  days: 5,
  keep: 4,
  select: 'highest',
  lowUsageFraction: 0.25,
  adjustment: { kind: 'additive', fromHoursBefore: 4, toHoursBefore: 1 },
};

export interface EventWindow {
  /** First interval of the event (index into the day). */
  startIndex: number;
  /** First interval after it. */
  endIndex: number;
  intervalMs: number;
}

export interface DayMatchingResult {
  /** Adjusted baseline per event interval, kW. */
  kw: number[];
  /** Before the day-of adjustment. */
  unadjustedKw: number[];
  /** r (multiplicative), a in kW (additive) or null. */
  adjustment: number | null;
  daysUsed: string[];
}

function dataError(message: string, details?: unknown): GridflexError {
  return new GridflexError(MARKET_ERRORS.BASELINE_DATA, message, { kind: 'input', details });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * "X of Y" day-matching baseline. `history` holds eligible days, most recent first; `eventDay`
 * is the metered event day (its intervals before the event feed the day-of adjustment).
 * Days with the wrong number of intervals, too few days, or an adjustment window before
 * midnight are errors: a baseline is never guessed.
 */
export function dayMatchingBaseline(
  history: DayProfile[],
  eventDay: DayProfile,
  window: EventWindow,
  method: DayMatching,
): DayMatchingResult {
  const n = eventDay.kw.length;
  const { startIndex: i0, endIndex: i1 } = window;
  if (!(i0 >= 0 && i0 < i1 && i1 <= n))
    throw dataError(`event intervals [${i0}, ${i1}) do not fit a day of ${n}`);
  const candidates = history.slice(0, method.days);
  if (candidates.length < method.days)
    throw dataError(`baseline needs ${method.days} eligible days, got ${candidates.length}`);
  const bad = candidates.find((d) => d.kw.length !== n);
  if (bad) throw dataError(`day ${bad.date} has ${bad.kw.length} intervals, the event day ${n}`);

  const eventMean = (d: DayProfile) => mean(d.kw.slice(i0, i1));
  let days = candidates;
  if (method.lowUsageFraction !== undefined) {
    const overall = mean(candidates.map(eventMean));
    days = days.filter((d) => eventMean(d) >= method.lowUsageFraction! * overall);
  }
  if (method.select === 'highest')
    days = days
      .map((d, recency) => ({ d, recency, m: eventMean(d) }))
      .sort((a, b) => b.m - a.m || a.recency - b.recency)
      .map((x) => x.d);
  days = days.slice(0, method.keep);
  if (days.length === 0) throw dataError('no eligible day left after dropping low-usage days');

  const base = Array.from({ length: n }, (_, h) => mean(days.map((d) => d.kw[h]!)));
  const unadjustedKw = base.slice(i0, i1);
  const adj = method.adjustment;
  if (adj.kind === 'none')
    return { kw: unadjustedKw, unadjustedKw, adjustment: null, daysUsed: days.map((d) => d.date) };

  const perHour = 3_600_000 / window.intervalMs;
  const a0 = i0 - Math.round(adj.fromHoursBefore * perHour);
  const a1 = i0 - Math.round(adj.toHoursBefore * perHour);
  if (a0 < 0) throw dataError('the day-of adjustment window starts before midnight; not supported');
  const load = eventDay.kw.slice(a0, a1);
  const ref = base.slice(a0, a1);
  let adjustment: number;
  let kw: number[];
  if (adj.kind === 'multiplicative') {
    const sumRef = ref.reduce((x, y) => x + y, 0);
    const r = sumRef === 0 ? 1 : load.reduce((x, y) => x + y, 0) / sumRef;
    adjustment = Math.min(adj.max, Math.max(adj.min, r));
    kw = unadjustedKw.map((b) => b * adjustment);
  } else {
    adjustment = mean(load.map((l, k) => l - ref[k]!));
    kw = unadjustedKw.map((b) => b + adjustment);
  }
  return { kw, unadjustedKw, adjustment, daysUsed: days.map((d) => d.date) };
}

/**
 * Meter-before-activation (markets.md B6.4): the mean demand over `windowMs` just before the
 * activation, held flat through it. For fast reserves, where day matching is meaningless.
 */
export function meterBeforeBaseline(
  samples: { tMs: number; kw: number }[],
  activationMs: number,
  windowMs: number,
): number {
  const before = samples.filter((s) => s.tMs >= activationMs - windowMs && s.tMs < activationMs);
  if (before.length === 0)
    throw dataError(`no meter reading in the ${windowMs / 1000} s before the activation`, { activationMs });
  return mean(before.map((s) => s.kw));
}
