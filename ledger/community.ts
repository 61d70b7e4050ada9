import { z } from 'zod';
import { GridflexError, PointKeySchema, TimezoneSchema } from '../model/index.js';
import { parseScaled } from './decimal.js';
import { LEDGER_ERRORS } from './errors.js';
import { localMidnightUtc } from './time.js';

/**
 * The community file (YAML or JSON, loaded with config/load.ts): who is in the community, which
 * meter measures what, how solar is allocated and which tariff applies when. Money and shares
 * are decimal strings (or plain numbers) so nothing passes through floating point.
 */
const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected letters, digits, - _ .');
const Decimal = z
  .union([z.string(), z.number()])
  .transform(String)
  .pipe(z.string().regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal number such as 0.2805'));
/** "2026-10-16" (local midnight in the community's zone) or an ISO instant on a quarter-hour. */
const Instant = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString() : v))
  .pipe(
    z
      .string()
      .regex(
        /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/,
        'expected a date 2026-10-16 or an instant 2026-10-16T12:00:00+02:00',
      ),
  );
const Clock = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'expected HH:MM');

export const TouWindowSchema = z.object({
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5, 6, 7]),
  from: Clock,
  /** Exclusive; may be earlier than `from` to wrap past midnight. */
  to: Clock,
});

export const TariffSchema = z.object({
  version: Id,
  validFrom: Instant,
  solar: z.discriminatedUnion('variant', [
    z.object({
      /** Swiss ZEV flat rate: at most 80 % of the reference standard product, fees included. */
      variant: z.literal('flat-80'),
      price: Decimal,
      referencePrice: Decimal,
    }),
    z.object({
      /** Swiss ZEV effective cost: at most k + ½·max(0, P_ref − k), and never above P_ref. */
      variant: z.literal('effective-cost'),
      price: Decimal,
      referencePrice: Decimal,
      internalCost: Decimal,
    }),
  ]),
  grid: z.object({
    /** Zones are tried in order; the first whose window contains the local time applies. The last has no windows. */
    zones: z
      .array(
        z.object({ name: z.string().min(1), price: Decimal, windows: z.array(TouWindowSchema).default([]) }),
      )
      .min(1),
  }),
  feedIn: z.object({ price: Decimal }),
  fees: z
    .array(z.object({ name: z.string().min(1), perMonth: Decimal, per: z.enum(['unit']).default('unit') }))
    .default([]),
  vatPercent: Decimal.default('0'),
});

/** The association's postal address and bank account, printed on every bill. */
export const IssuerSchema = z.object({
  street: z.string().min(1).max(70),
  buildingNumber: z.string().max(16).optional(),
  postalCode: z.string().min(1).max(16),
  city: z.string().min(1).max(35),
  country: z.string().regex(/^[A-Z]{2}$/, 'a two-letter country code such as CH'),
  /** IBAN (spaces allowed); a CHF community's bills carry a Swiss QR-bill part paying into it. */
  iban: z
    .string()
    .transform((s) => s.replace(/\s+/g, '').toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/, 'an IBAN')),
  bic: z
    .string()
    .regex(/^[A-Z0-9]{8}([A-Z0-9]{3})?$/, 'a BIC (8 or 11 characters)')
    .optional(),
  /** Days from the bill's issue (its signed checkpoint) to its due date. */
  paymentTermDays: z.number().int().min(0).max(120).default(30),
});

export const CommunitySchema = z
  .object({
    id: Id,
    name: z.string().min(1),
    timezone: TimezoneSchema,
    currency: z.enum(['CHF', 'EUR']),
    allocation: z.object({
      method: z.enum(['static', 'dynamic', 'hybrid']),
      /** Required for hybrid: which of the two hybrids in use (ledger.md § 7.4) the contract names. */
      hybridVariant: z.enum(['residual-demand']).optional(),
    }),
    gridMeter: Id,
    production: z.array(z.object({ meter: Id })).min(1),
    /** A shared battery: PV charging leaves the pool, discharging joins it. */
    battery: z
      .object({
        chargeMeter: Id,
        dischargeMeter: Id,
        /** Usable capacity, kWh: the tracked content is cut back to it (losses leave the tracking). */
        capacityKwh: Decimal.optional(),
      })
      .optional(),
    units: z
      .array(
        z.object({
          id: Id,
          name: z.string().min(1),
          kind: z.enum(['apartment', 'shop', 'common', 'other']),
          meter: Id,
          /** Static share in percent (up to 4 decimals); needed for static and hybrid. */
          sharePercent: Decimal.optional(),
          /** Billed while nobody lives in the unit. */
          owner: z.string().min(1),
        }),
      )
      .min(1),
    members: z
      .array(
        z.object({
          id: Id,
          name: z.string().min(1),
          unit: Id,
          /** Tenants are protected by the Swiss price cap (Art. 16 EnV); owners decide for themselves. */
          role: z.enum(['tenant', 'owner']),
          from: Instant,
          /** Exclusive: the first instant no longer theirs. */
          to: Instant.optional(),
        }),
      )
      .default([]),
    tariffs: z.array(TariffSchema).min(1),
    /** Who receives the feed-in revenue, in percent (Σ 100). */
    feedInKey: z.array(z.object({ party: z.string().min(1), percent: Decimal })).min(1),
    /**
     * Billing from the store (`gridflex bill --from-store`): meter → the gateway's energy
     * counter point (`site/device/point`, Wh). Every production, battery and unit meter needs
     * one; the grid meter is optional (it only feeds the residual in the summary).
     */
    points: z.record(Id, PointKeySchema).optional(),
    /** Who issues the bills and how residents pay them (render.ts: issuer, due date, QR-bill or SEPA details). */
    issuer: IssuerSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const unitIds = new Set<string>();
    const meters = new Set<string>([c.gridMeter]);
    const addMeter = (m: string, path: (string | number)[]) => {
      if (meters.has(m)) ctx.addIssue({ code: 'custom', path, message: `meter ${m} is used twice` });
      meters.add(m);
    };
    c.production.forEach((p, i) => {
      addMeter(p.meter, ['production', i, 'meter']);
    });
    if (c.battery) {
      addMeter(c.battery.chargeMeter, ['battery', 'chargeMeter']);
      addMeter(c.battery.dischargeMeter, ['battery', 'dischargeMeter']);
    }
    let shares = 0n;
    c.units.forEach((u, i) => {
      if (unitIds.has(u.id))
        ctx.addIssue({ code: 'custom', path: ['units', i, 'id'], message: `unit ${u.id} twice` });
      unitIds.add(u.id);
      addMeter(u.meter, ['units', i, 'meter']);
      if (c.allocation.method !== 'dynamic' && u.sharePercent === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['units', i, 'sharePercent'],
          message: `a share is needed for the ${c.allocation.method} method`,
        });
      if (u.sharePercent !== undefined) shares += parseScaled(u.sharePercent, 4, 'sharePercent');
    });
    if (shares > 100_0000n)
      ctx.addIssue({ code: 'custom', path: ['units'], message: 'static shares add up to more than 100 %' });
    if (c.allocation.method === 'hybrid' && !c.allocation.hybridVariant)
      ctx.addIssue({
        code: 'custom',
        path: ['allocation', 'hybridVariant'],
        message: 'name the hybrid variant (residual-demand); the contract must say which one applies',
      });
    c.members.forEach((m, i) => {
      if (!unitIds.has(m.unit))
        ctx.addIssue({ code: 'custom', path: ['members', i, 'unit'], message: `no unit ${m.unit}` });
    });
    const key = c.feedInKey.reduce((s, k) => s + parseScaled(k.percent, 4, 'percent'), 0n);
    if (key !== 100_0000n)
      ctx.addIssue({ code: 'custom', path: ['feedInKey'], message: 'the feed-in key must add up to 100 %' });
    for (const m of Object.keys(c.points ?? {}))
      if (!meters.has(m))
        ctx.addIssue({ code: 'custom', path: ['points', m], message: `no meter ${m} in this community` });
    const versions = new Set<string>();
    c.tariffs.forEach((t, i) => {
      if (versions.has(t.version))
        ctx.addIssue({
          code: 'custom',
          path: ['tariffs', i, 'version'],
          message: `version ${t.version} twice`,
        });
      versions.add(t.version);
      const zones = t.grid.zones;
      if (zones[zones.length - 1]!.windows.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['tariffs', i, 'grid', 'zones', zones.length - 1],
          message: 'the last grid zone applies outside all windows and has none',
        });
    });
  });

export type CommunityConfig = z.output<typeof CommunitySchema>;
export type IssuerConfig = z.output<typeof IssuerSchema>;
export type TariffConfig = z.output<typeof TariffSchema>;

/** A tariff version with prices as integers: micro-units of the currency per kWh, minor units per month. */
export interface Tariff {
  version: string;
  fromMs: number;
  /** Exclusive; the next version's start (Infinity for the latest). */
  toMs: number;
  solarMicro: bigint;
  solarVariant: 'flat-80' | 'effective-cost';
  /** The highest allowed effective solar price, micro-units per kWh (fees included). */
  solarCapMicro: bigint;
  zones: {
    name: string;
    priceMicro: bigint;
    windows: { days: number[]; fromMin: number; toMin: number }[];
  }[];
  feedInMicro: bigint;
  fees: { name: string; perMonthMinor: bigint }[];
  vatBp: bigint;
  /** The configuration as written, snapshotted into every bill that uses it. */
  source: TariffConfig;
}

export interface Membership {
  /** Bill recipient: the member, or `<unit>:vacant` for the owner while the unit is empty. */
  recipient: string;
  name: string;
  role: 'tenant' | 'owner';
  fromMs: number;
  toMs: number;
}

export interface Community {
  config: CommunityConfig;
  tz: string;
  sharesPpm: number[];
  tariffs: Tariff[];
  /** Per unit, non-overlapping memberships in time order (vacancies not included). */
  memberships: Membership[][];
  feedInKeyPpm: { party: string; ppm: bigint }[];
}

const QUARTER = 900_000;
const micro = (d: string, what: string) => parseScaled(d, 6, what);

export function instantMs(value: string, tz: string, what: string): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = day ? localMidnightUtc(Number(day[1]), Number(day[2]), Number(day[3]), tz) : Date.parse(value);
  if (!Number.isFinite(ms) || ms % QUARTER !== 0)
    throw new GridflexError(LEDGER_ERRORS.INSTANT, `${what}: ${value} is not on a quarter-hour`, {
      kind: 'input',
    });
  return ms;
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** Resolve a validated community file into integer prices, UTC instants and ppm shares. */
export function compileCommunity(config: CommunityConfig): Community {
  const tz = config.timezone;
  const sorted = config.tariffs
    .map((t, i) => ({ t, fromMs: instantMs(t.validFrom, tz, `tariffs[${i}].validFrom`) }))
    .sort((a, b) => a.fromMs - b.fromMs);
  const tariffs = sorted.map(({ t, fromMs }, i): Tariff => {
    const pref = micro(t.solar.referencePrice, 'referencePrice');
    const cap =
      t.solar.variant === 'flat-80'
        ? (pref * 8n) / 10n
        : (() => {
            const k = micro(t.solar.internalCost, 'internalCost');
            const c = k + (pref > k ? (pref - k) / 2n : 0n);
            return c < pref ? c : pref;
          })();
    return {
      version: t.version,
      fromMs,
      toMs: sorted[i + 1]?.fromMs ?? Number.POSITIVE_INFINITY,
      solarMicro: micro(t.solar.price, 'solar.price'),
      solarVariant: t.solar.variant,
      solarCapMicro: cap,
      zones: t.grid.zones.map((z) => ({
        name: z.name,
        priceMicro: micro(z.price, 'grid price'),
        windows: z.windows.map((w) => ({ days: w.days, fromMin: minutes(w.from), toMin: minutes(w.to) })),
      })),
      feedInMicro: micro(t.feedIn.price, 'feedIn.price'),
      fees: t.fees.map((f) => ({ name: f.name, perMonthMinor: parseScaled(f.perMonth, 2, 'fee') })),
      vatBp: parseScaled(t.vatPercent, 2, 'vatPercent'),
      source: t,
    };
  });
  const memberships = config.units.map((u) => {
    const list = config.members
      .map((m, i) => ({ m, i }))
      .filter(({ m }) => m.unit === u.id)
      .map(
        ({ m, i }): Membership => ({
          recipient: m.id,
          name: m.name,
          role: m.role,
          fromMs: instantMs(m.from, tz, `members[${i}].from`),
          toMs: m.to ? instantMs(m.to, tz, `members[${i}].to`) : Number.POSITIVE_INFINITY,
        }),
      )
      .sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 1; i < list.length; i++)
      if (list[i]!.fromMs < list[i - 1]!.toMs)
        throw new GridflexError(
          LEDGER_ERRORS.MEMBERS,
          `unit ${u.id}: ${list[i - 1]!.recipient} and ${list[i]!.recipient} overlap; a move-out must not be after the next move-in`,
          { kind: 'input' },
        );
    return list;
  });
  return {
    config,
    tz,
    sharesPpm: config.units.map((u) =>
      u.sharePercent === undefined ? 0 : Number(parseScaled(u.sharePercent, 4, 'share')),
    ),
    tariffs,
    memberships,
    feedInKeyPpm: config.feedInKey.map((k) => ({
      party: k.party,
      ppm: parseScaled(k.percent, 4, 'percent'),
    })),
  };
}

/** The tariff version in force at `ms`; a period without a tariff cannot be billed. */
export function tariffAt(c: Community, ms: number): Tariff {
  for (const t of c.tariffs) if (t.fromMs <= ms && ms < t.toMs) return t;
  throw new GridflexError(LEDGER_ERRORS.NO_TARIFF, `no tariff is valid on ${new Date(ms).toISOString()}`, {
    kind: 'input',
  });
}
