import { z } from 'zod';
import { IdSchema, parseOrThrow } from '../model/index.js';
import { OPT_ERRORS } from './errors.js';

/**
 * The JSON problem the optimiser solves for one site (format documented in README.md).
 * Every per-slot array has one value per slot; the horizon T is the length of
 * `prices.import`, and every other per-slot array is checked against it.
 */
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const kw = z.number().nonnegative();
const slot = z.number().int().nonnegative();
const series = z.array(finite).min(1);
/** A number for every slot, or one array with a value per slot. */
const perSlot = z.union([finite, z.array(finite)]);
const perSlotKw = z.union([kw, z.array(kw)]);
const limitKw = z.union([kw, z.array(kw)]);

export const BatteryProblemSchema = z.object({
  type: z.literal('battery'),
  id: IdSchema,
  capacityKwh: z.number().positive(),
  minSocKwh: kw.default(0),
  maxChargeKw: kw,
  maxDischargeKw: kw,
  chargeEfficiency: z.number().gt(0).max(1).default(0.95),
  dischargeEfficiency: z.number().gt(0).max(1).default(0.95),
  initialKwh: kw,
  finalMinKwh: kw.optional(),
  /** Wear cost per kWh of throughput, counted on both charged and discharged AC energy. */
  wearCostPerKwh: kw.default(0),
});

export const ShiftableProblemSchema = z.object({
  type: z.literal('shiftable'),
  id: IdSchema,
  maxKw: z.number().positive(),
  energyKwh: kw,
  earliestSlot: slot.default(0),
  /** Exclusive: the load must be done before this slot starts. Default: end of horizon. */
  deadlineSlot: slot.optional(),
});

export const SheddableProblemSchema = z.object({
  type: z.literal('sheddable'),
  id: IdSchema,
  baselineKw: perSlotKw,
  maxShedFraction: z.number().min(0).max(1),
  costPerKwh: kw.default(0),
  /**
   * Longest shed the occupants accept, min (a comfort limit, so a hard constraint): in any run
   * of consecutive slots one longer than this, the shed energy is at most this long's worth of
   * full shedding (an LP's reading of "at least a slot back at normal in every such run").
   */
  maxShedMinutes: z.number().positive().optional(),
});

export const ThermalProblemSchema = z.object({
  type: z.literal('thermal'),
  id: IdSchema,
  maxKw: kw,
  cop: z.number().positive(),
  capacitanceKwhPerK: z.number().positive(),
  resistanceKPerKw: z.number().positive(),
  initialC: finite,
  outdoorC: perSlot,
  minC: perSlot,
  maxC: perSlot,
  /** Setpoint of the baseline thermostat; default minC + 0.5 K (capped at the band's middle). */
  thermostatC: perSlot.optional(),
});

export const EvProblemSchema = z.object({
  type: z.literal('ev'),
  id: IdSchema,
  maxKw: z.number().positive(),
  energyKwh: kw,
  arrivalSlot: slot,
  /** Exclusive: charging must be done before this slot starts. */
  departureSlot: slot,
});

export const AssetProblemSchema = z.discriminatedUnion('type', [
  BatteryProblemSchema,
  ShiftableProblemSchema,
  SheddableProblemSchema,
  ThermalProblemSchema,
  EvProblemSchema,
]);

/**
 * Capacity the site must keep free for a market product (an accepted bid, issue #7): per
 * slot, kW it can add to supply (`upKw`: less consumption or more discharge) and/or to
 * consumption (`downKw`), from any moment of the slot for `sustainMinutes` (the product's
 * full-activation time plus minimum duration). The plan must leave that headroom.
 */
export const ReservationSchema = z.object({
  id: IdSchema,
  /** The market product, for the reader (e.g. `fcr-n`); the LP does not use it. */
  product: z.string().min(1).optional(),
  upKw: perSlotKw.default(0),
  downKw: perSlotKw.default(0),
  sustainMinutes: z.number().positive(),
});

/**
 * Multi-resolution horizon: the first `fineSlots` slots keep their own decisions; after
 * them every asset decision is held for `coarseFactor` slots (e.g. 16 quarter-hours, then
 * hourly with 4). Grid flows, PV and states stay per slot, so prices and forecasts are used
 * exactly and the plan is a valid plan of the fine problem.
 */
export const ResolutionSchema = z.object({
  fineSlots: slot,
  coarseFactor: z.number().int().min(1).max(96),
});

/**
 * A demand charge over the slots [fromSlot, toSlot) of one billing period (a month): the
 * period's highest import costs `chargePerKw` per kW, and `soFarKw`, the period's peak before
 * the horizon, is already incurred (README "Peak charges").
 */
export const PeakPeriodSchema = z.object({
  fromSlot: slot,
  toSlot: z.number().int().positive(),
  chargePerKw: kw,
  soFarKw: kw.default(0),
});

const ProblemObjectSchema = z.object({
  /** Number of slots T; when absent, the length of `prices.import`. */
  slots: z.number().int().positive().optional(),
  slotMinutes: z.number().positive().max(1440).default(15),
  prices: z.object({ import: series, export: series }),
  grid: z.object({ importLimitKw: limitKw.optional(), exportLimitKw: limitKw.optional() }).default({}),
  baseLoadKw: z.array(kw),
  pvKw: z.array(kw),
  /** Charge per kW of the horizon's highest import (a demand charge), optional. */
  peakChargePerKw: kw.default(0),
  /** The billing period's highest import before the horizon (kW): the floor of the peak. */
  peakSoFarKw: kw.default(0),
  /** Demand charges per billing period when the horizon spans several (instead of the two above). */
  peakPeriods: z.array(PeakPeriodSchema).optional(),
  assets: z.array(AssetProblemSchema).default([]),
  /** Market reservations the plan must honour (optional). */
  reservations: z.array(ReservationSchema).optional(),
  /** Coarser decisions after the first hours (optional; default every slot its own). */
  resolution: ResolutionSchema.optional(),
  /**
   * Terminal value (README "Terminal value"): electricity that stored energy left at the
   * horizon's end will deliver or save is worth this per kWh, against what was stored at the
   * start. Default 0 (stored energy worth nothing after the horizon).
   */
  terminalPricePerKwh: kw.default(0),
});

type Issue = { path: (string | number)[]; message: string };

function checkLength(value: unknown, T: number, path: (string | number)[], issues: Issue[]): void {
  if (Array.isArray(value) && value.length !== T)
    issues.push({ path, message: `expected ${T} values, got ${value.length}` });
}

/** Semantic checks that need the horizon: lengths, windows, bands, capacities. */
function checkHorizon(p: z.output<typeof ProblemObjectSchema>, issues: Issue[]): void {
  const T = p.slots ?? p.prices.import.length;
  const dtH = p.slotMinutes / 60;
  checkLength(p.prices.import, T, ['prices', 'import'], issues);
  checkLength(p.prices.export, T, ['prices', 'export'], issues);
  checkLength(p.grid.importLimitKw, T, ['grid', 'importLimitKw'], issues);
  checkLength(p.grid.exportLimitKw, T, ['grid', 'exportLimitKw'], issues);
  checkLength(p.baseLoadKw, T, ['baseLoadKw'], issues);
  checkLength(p.pvKw, T, ['pvKw'], issues);
  for (let t = 0; t < T; t++) {
    const unlimited =
      valueAt(p.grid.importLimitKw, t, Infinity) === Infinity ||
      valueAt(p.grid.exportLimitKw, t, Infinity) === Infinity;
    if (unlimited && (p.prices.export[t] ?? 0) > (p.prices.import[t] ?? 0)) {
      issues.push({
        path: ['prices', 'export', t],
        message:
          'above the import price while the grid is unlimited: buying to sell back would pay without end; set grid limits',
      });
      break;
    }
  }
  if (p.peakPeriods && (p.peakChargePerKw > 0 || p.peakSoFarKw > 0))
    issues.push({ path: ['peakPeriods'], message: 'give either peakPeriods or peakChargePerKw/peakSoFarKw' });
  let peakEnd = 0;
  p.peakPeriods?.forEach((m, i) => {
    if (m.toSlot > T)
      issues.push({ path: ['peakPeriods', i, 'toSlot'], message: `must be at most ${T} (the horizon)` });
    if (m.fromSlot >= m.toSlot)
      issues.push({ path: ['peakPeriods', i, 'fromSlot'], message: 'must be before toSlot' });
    if (m.fromSlot < peakEnd)
      issues.push({
        path: ['peakPeriods', i, 'fromSlot'],
        message: 'periods must be in order and not overlap',
      });
    peakEnd = m.toSlot;
  });
  const reservationIds = new Set<string>();
  p.reservations?.forEach((r, i) => {
    if (reservationIds.has(r.id))
      issues.push({ path: ['reservations', i, 'id'], message: `duplicate reservation id "${r.id}"` });
    reservationIds.add(r.id);
    checkLength(r.upKw, T, ['reservations', i, 'upKw'], issues);
    checkLength(r.downKw, T, ['reservations', i, 'downKw'], issues);
  });
  const seen = new Set<string>();
  p.assets.forEach((a, i) => {
    const at = (...rest: (string | number)[]) => ['assets', i, ...rest];
    if (seen.has(a.id)) issues.push({ path: at('id'), message: `duplicate asset id "${a.id}"` });
    seen.add(a.id);
    switch (a.type) {
      case 'battery':
        if (a.minSocKwh > a.capacityKwh)
          issues.push({ path: at('minSocKwh'), message: 'must not exceed capacityKwh' });
        if (a.initialKwh > a.capacityKwh)
          issues.push({ path: at('initialKwh'), message: 'must not exceed capacityKwh' });
        if (a.finalMinKwh !== undefined && a.finalMinKwh > a.capacityKwh)
          issues.push({ path: at('finalMinKwh'), message: 'must not exceed capacityKwh' });
        break;
      case 'shiftable': {
        const deadline = a.deadlineSlot ?? T;
        if (deadline > T)
          issues.push({ path: at('deadlineSlot'), message: `must be at most ${T} (the horizon)` });
        if (a.earliestSlot >= deadline)
          issues.push({ path: at('earliestSlot'), message: 'must be before deadlineSlot' });
        break;
      }
      case 'ev':
        if (a.departureSlot > T)
          issues.push({ path: at('departureSlot'), message: `must be at most ${T} (the horizon)` });
        if (a.arrivalSlot >= a.departureSlot)
          issues.push({ path: at('arrivalSlot'), message: 'must be before departureSlot' });
        break;
      case 'sheddable':
        checkLength(a.baselineKw, T, at('baselineKw'), issues);
        break;
      case 'thermal': {
        for (const key of ['outdoorC', 'minC', 'maxC', 'thermostatC'] as const)
          checkLength(a[key], T, at(key), issues);
        // Explicit Euler steps keep the temperature monotone only when the slot is shorter
        // than the zone's time constant R·C; longer slots would make it oscillate.
        if (a.capacitanceKwhPerK * a.resistanceKPerKw < dtH)
          issues.push({
            path: at('resistanceKPerKw'),
            message: `time constant R·C (${a.capacitanceKwhPerK * a.resistanceKPerKw} h) must be at least the slot length (${dtH} h)`,
          });
        for (let t = 0; t < T; t++) {
          if (valueAt(a.minC, t) > valueAt(a.maxC, t)) {
            issues.push({ path: at('maxC'), message: `must not be below minC (slot ${t})` });
            break;
          }
        }
        break;
      }
    }
  });
}

export const ProblemSchema = ProblemObjectSchema.superRefine((p, ctx) => {
  const issues: Issue[] = [];
  checkHorizon(p, issues);
  for (const i of issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
});

export type Problem = z.output<typeof ProblemSchema>;
export type ProblemInput = z.input<typeof ProblemSchema>;
export type AssetProblem = Problem['assets'][number];
export type BatteryProblem = z.output<typeof BatteryProblemSchema>;
export type ThermalProblem = z.output<typeof ThermalProblemSchema>;
export type Reservation = z.output<typeof ReservationSchema>;
export type PeakPeriod = z.output<typeof PeakPeriodSchema>;

/** Validate a problem; throws a ValidationError naming each bad field (code GFX_OPT_PROBLEM). */
export function parseProblem(input: unknown, what = 'optimisation problem'): Problem {
  return parseOrThrow(ProblemSchema, input, what, OPT_ERRORS.problem);
}

/** The value of a number-or-per-slot field at slot t. */
export function valueAt(v: number | readonly number[] | undefined, t: number, fallback = 0): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  return v[t] ?? fallback;
}

/**
 * A sheddable load's longest shed in slots (at least 1), or the horizon when it has none: every
 * run of one slot more sheds at most this many slots' worth (build.ts, checked by check.ts).
 */
export function longestShedSlots(a: { maxShedMinutes?: number | undefined }, p: Problem): number {
  return a.maxShedMinutes === undefined
    ? horizon(p)
    : Math.max(1, Math.floor(a.maxShedMinutes / p.slotMinutes));
}

export function horizon(p: Problem): number {
  return p.prices.import.length;
}

export function slotHours(p: Problem): number {
  return p.slotMinutes / 60;
}

/** The demand-charge periods of a problem: `peakPeriods`, or the whole horizon at `peakChargePerKw`. */
export function peakPeriods(p: Problem): PeakPeriod[] {
  if (p.peakPeriods) return p.peakPeriods.filter((m) => m.chargePerKw > 0);
  if (p.peakChargePerKw <= 0) return [];
  return [{ fromSlot: 0, toSlot: horizon(p), chargePerKw: p.peakChargePerKw, soFarKw: p.peakSoFarKw }];
}

/** The slots [start, end) in which a shiftable load or EV may draw power. */
export function window(a: Extract<AssetProblem, { type: 'shiftable' | 'ev' }>, T: number): [number, number] {
  return a.type === 'ev' ? [a.arrivalSlot, a.departureSlot] : [a.earliestSlot, a.deadlineSlot ?? T];
}

/**
 * Decision blocks [start, end) covering slots 0..T−1 (README "Multi-resolution horizon"):
 * one per slot, or per slot for the first `fineSlots` and `coarseFactor` slots after.
 */
export function decisionBlocks(p: Problem): [number, number][] {
  const T = horizon(p);
  const fine = p.resolution ? Math.min(p.resolution.fineSlots, T) : T;
  const k = p.resolution?.coarseFactor ?? 1;
  const blocks: [number, number][] = [];
  for (let t = 0; t < fine; t++) blocks.push([t, t + 1]);
  for (let t = fine; t < T; t += k) blocks.push([t, Math.min(t + k, T)]);
  return blocks;
}

/** Baseline thermostat setpoint at slot t (see README). */
export function thermostatAt(a: ThermalProblem, t: number): number {
  if (a.thermostatC !== undefined) return valueAt(a.thermostatC, t);
  const lo = valueAt(a.minC, t);
  const hi = valueAt(a.maxC, t);
  return Math.min(lo + 0.5, (lo + hi) / 2);
}
