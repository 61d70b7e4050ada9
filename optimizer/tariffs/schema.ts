import { z } from 'zod';
import { IdSchema, parseOrThrow, TimezoneSchema } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';

/**
 * A site's tariff as data (README "Tariffs"): what it pays per kWh bought, when, what it gets
 * per kWh sold, the grid fees, a monthly peak-demand charge and VAT; versioned, each version in
 * force from its `validFrom` until the next one's. Prices are per kWh (per kW and month for the
 * peak) in `currency`, before VAT; times of day are the tariff's local wall clock.
 */

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const price = z.number().refine(Number.isFinite, 'expected a finite number');
const hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected HH:MM (00:00 … 24:00)')
  .transform((s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3)));

/**
 * A time-of-day window [from, to) on the given weekdays (of the instant's own local day) and
 * months; `to` ≤ `from` wraps over midnight (22:00–06:00).
 */
export const TimeWindowSchema = z.object({
  days: z
    .array(z.enum(DAYS))
    .min(1)
    .default([...DAYS]),
  months: z.array(z.number().int().min(1).max(12)).min(1).optional(),
  from: hhmm,
  to: hhmm,
  perKwh: price,
});

/** Prices by window: the first window that holds the instant, else `otherPerKwh`. */
const WindowedSchema = z.object({
  otherPerKwh: price.default(0),
  windows: z.array(TimeWindowSchema).default([]),
});

/** Spot-indexed: factor × the day-ahead price + markup (both may be 0/1). */
const SpotIndexedSchema = z.object({
  kind: z.literal('spot'),
  factor: z.number().default(1),
  markupPerKwh: price.default(0),
});

export const EnergyPriceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), perKwh: price }),
  WindowedSchema.extend({ kind: z.literal('timeOfUse') }),
  SpotIndexedSchema,
]);

export const FeedInPriceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), perKwh: price }),
  SpotIndexedSchema,
]);

/** Local date `YYYY-MM-DD`: a version starts at that local midnight. */
const localDate = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'expected YYYY-MM-DD');

export const TariffVersionSchema = z.object({
  validFrom: localDate,
  energy: EnergyPriceSchema,
  gridFees: WindowedSchema.default({ otherPerKwh: 0, windows: [] }),
  /**
   * Per kW of the month's highest 15-minute mean import, per month (CH: the month's highest
   * quarter-hour, StromVV Art. 18). Absent: no demand charge.
   */
  peakCharge: z.object({ perKwMonth: z.number().nonnegative() }).optional(),
  feedIn: FeedInPriceSchema.default({ kind: 'fixed', perKwh: 0 }),
  /** On energy, grid fees and the peak charge; not on feed-in (a small producer bills none). */
  vatPercent: z.number().min(0).max(100).default(0),
});

export const SiteTariffSchema = z
  .object({
    id: IdSchema,
    currency: z.string().min(1),
    timezone: TimezoneSchema,
    versions: z.array(TariffVersionSchema).min(1),
    /** Exclusive end of the last version (local date); absent: open-ended. */
    validTo: localDate.optional(),
  })
  .superRefine((t, ctx) => {
    for (let i = 1; i < t.versions.length; i++)
      if (t.versions[i]!.validFrom <= t.versions[i - 1]!.validFrom)
        ctx.addIssue({
          code: 'custom',
          path: ['versions', i, 'validFrom'],
          message: `must be after versions[${i - 1}].validFrom (${t.versions[i - 1]!.validFrom})`,
        });
    const last = t.versions.at(-1)!;
    if (t.validTo !== undefined && t.validTo <= last.validFrom)
      ctx.addIssue({ code: 'custom', path: ['validTo'], message: `must be after ${last.validFrom}` });
  });

export type SiteTariff = z.output<typeof SiteTariffSchema>;
export type SiteTariffInput = z.input<typeof SiteTariffSchema>;
export type TariffVersion = z.output<typeof TariffVersionSchema>;
export type TimeWindow = z.output<typeof TimeWindowSchema>;
export const WEEKDAYS = DAYS;

/** Validate a tariff; a ValidationError (GFX_OPT_TARIFF) names each bad field. */
export function parseSiteTariff(input: unknown, what = 'tariff'): SiteTariff {
  return parseOrThrow(SiteTariffSchema, input, what, OPT_ERRORS.tariff);
}
