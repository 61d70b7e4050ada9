import { z } from 'zod';
import { type FieldIssue, parseOrThrow, type Site, ValidationError } from '../model/index.js';
import { OPT_ERRORS } from './errors.js';
import {
  type AssetProblemSchema,
  PeakPeriodSchema,
  type Problem,
  parseProblem,
  ReservationSchema,
} from './problem.js';

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const kw = z.number().nonnegative();
const slot = z.number().int().nonnegative();

/** The live loop's horizon: 36 hours of quarter-hours (tomorrow's day-ahead prices arrive at midday). */
export const HORIZON_SLOTS = 144;

/**
 * What a re-plan knows besides the site's configuration: the measured state, forecasts,
 * prices and requests, for the horizon that starts at `startMs`. Plain JSON, stored with
 * every plan so a decision can be replayed.
 */
export const SiteInputsSchema = z.object({
  /** Start of slot 0, ms since epoch (the loop passes a slot boundary). */
  startMs: z.number().int(),
  /** Default: one per import price. The live loop plans `HORIZON_SLOTS`. */
  slots: z.number().int().positive().optional(),
  slotMinutes: z.number().positive().max(1440).default(15),
  state: z
    .object({
      /** Battery state of charge by asset id, % of capacity (from its `measure.soc` point). */
      socPct: z.record(z.string(), z.number().min(0).max(100)).default({}),
      /** Zone temperature by thermal asset id, °C (from its `measure.temperature` point). */
      temperatureC: z.record(z.string(), finite).default({}),
    })
    .default({ socPct: {}, temperatureC: {} }),
  forecast: z.object({
    pvKw: z.array(kw),
    baseLoadKw: z.array(kw),
    outdoorC: z.union([finite, z.array(finite)]),
  }),
  prices: z.object({ import: z.array(finite), export: z.array(finite) }),
  /** Demand charges per billing period of the horizon (tariffs/prices.ts `tariffSlotPrices`). */
  peakPeriods: z.array(PeakPeriodSchema).optional(),
  /** Worth of a kWh stored at the horizon's end; default `terminalPrice(prices.import)`. */
  terminalPricePerKwh: kw.optional(),
  /** Per-slot limits tighter than the connection's (e.g. a grid operator's request); default the site's. */
  grid: z
    .object({
      importLimitKw: z.union([kw, z.array(kw)]).optional(),
      exportLimitKw: z.union([kw, z.array(kw)]).optional(),
    })
    .default({}),
  /** EV sessions by charger asset id: without one, the charger is not planned (no car to serve). */
  evSessions: z
    .record(z.string(), z.object({ energyKwh: kw, arrivalSlot: slot, departureSlot: slot }))
    .default({}),
  /** Runs requested of shiftable loads by asset id; a shiftable load without a request is not planned. */
  shiftableRuns: z
    .record(
      z.string(),
      z.object({ energyKwh: kw.optional(), earliestSlot: slot.default(0), deadlineSlot: slot.optional() }),
    )
    .default({}),
  /** Battery wear per kWh of throughput (currency), applied to every battery. */
  batteryWearPerKwh: kw.default(0),
  /** Where the prices came from (live-prices.ts): a stale spot source and its reason, estimated slots. */
  priceNotes: z
    .object({
      stale: z.boolean(),
      error: z.string().optional(),
      notice: z.string().optional(),
      estimatedSpotSlots: z.array(slot),
      tariff: z.object({ id: z.string(), validFrom: z.string() }).optional(),
    })
    .optional(),
  /** Currency of the prices (the tariff's), for display. */
  currency: z.string().min(1).optional(),
  /** Capacity to keep free for accepted market bids (the LP's reservations, problem.ts). */
  reservations: z.array(ReservationSchema).optional(),
  /** The market obligations as received, carried with the plan so a decision can be replayed. */
  obligations: z.unknown().optional(),
});
export type SiteInputs = z.input<typeof SiteInputsSchema>;
export type ParsedSiteInputs = z.output<typeof SiteInputsSchema>;

type AssetProblem = z.input<typeof AssetProblemSchema>;

/**
 * The terminal value rule (README "Terminal value"): electricity stored at the horizon's end is
 * worth the median import price of the horizon. The energy will displace imports after the
 * horizon at prices like these; the median, not the mean, so a few price spikes do not make
 * the plan hoard energy, and the plan keeps energy only where it is bought below the median
 * (less the round-trip losses) and sells or uses it above.
 */
export function terminalPrice(importPrices: readonly number[]): number {
  const sorted = [...importPrices].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return 0;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return Math.max(0, median);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * The optimiser's problem for one site and one horizon. Pure. Rules (README "Problem from a
 * site"): batteries plan within [minSocPct, maxSocPct] of capacity, relaxed down to the current
 * SoC when it is below the band (a depleted battery must not make the plan infeasible); the end
 * of the horizon is not pinned: energy stored then (battery and zone heat) is valued at
 * `terminalPrice()` (so the last hours do not sell the battery empty for nothing); thermal
 * zones start at the measured temperature;
 * EV chargers and shiftable loads take part only with a session or run request; PV and
 * sheddable loads always (PV curtailment is a decision of the LP). Missing state is an error
 * naming the asset, never a guess.
 */
export function siteProblem(site: Site, raw: SiteInputs): Problem {
  const inputs = parseOrThrow(SiteInputsSchema, raw, 'site inputs');
  const assets: AssetProblem[] = [];
  const missing: FieldIssue[] = [];
  for (const a of site.buildings.flatMap((b) => b.assets)) {
    switch (a.type) {
      case 'battery': {
        const soc = inputs.state.socPct[a.id];
        if (soc === undefined) {
          missing.push({
            path: `state.socPct.${a.id}`,
            message: `no state of charge measured for battery ${a.id}`,
            code: 'missing',
          });
          break;
        }
        const lo = (a.capacityKwh * a.minSocPct) / 100;
        const hi = (a.capacityKwh * a.maxSocPct) / 100;
        const initial = clamp((a.capacityKwh * soc) / 100, 0, hi);
        assets.push({
          type: 'battery',
          id: a.id,
          // The LP's capacity is the top of the allowed band.
          capacityKwh: hi,
          minSocKwh: Math.min(lo, initial),
          maxChargeKw: a.maxChargeKw,
          maxDischargeKw: a.maxDischargeKw,
          chargeEfficiency: a.chargeEfficiency,
          dischargeEfficiency: a.dischargeEfficiency,
          initialKwh: initial,
          wearCostPerKwh: inputs.batteryWearPerKwh,
        });
        break;
      }
      case 'thermal': {
        const temp = inputs.state.temperatureC[a.id];
        if (temp === undefined) {
          missing.push({
            path: `state.temperatureC.${a.id}`,
            message: `no temperature measured for zone ${a.id}`,
            code: 'missing',
          });
          break;
        }
        assets.push({
          type: 'thermal',
          id: a.id,
          maxKw: a.maxKw,
          cop: a.cop,
          capacitanceKwhPerK: a.capacitanceKwhPerK,
          resistanceKPerKw: a.resistanceKPerKw,
          initialC: temp,
          outdoorC: inputs.forecast.outdoorC,
          minC: a.minC,
          maxC: a.maxC,
        });
        break;
      }
      case 'sheddable':
        assets.push({
          type: 'sheddable',
          id: a.id,
          baselineKw: a.nominalKw,
          maxShedFraction: a.maxShedFraction,
          costPerKwh: a.costPerKwh,
          ...(a.maxShedMinutes === undefined ? {} : { maxShedMinutes: a.maxShedMinutes }),
        });
        break;
      case 'ev_charger': {
        const s = inputs.evSessions[a.id];
        if (s) assets.push({ type: 'ev', id: a.id, maxKw: a.maxKw, ...s });
        break;
      }
      case 'shiftable': {
        const run = inputs.shiftableRuns[a.id];
        if (run)
          assets.push({
            type: 'shiftable',
            id: a.id,
            maxKw: a.maxKw,
            energyKwh: run.energyKwh ?? a.energyKwh,
            earliestSlot: run.earliestSlot,
            ...(run.deadlineSlot === undefined ? {} : { deadlineSlot: run.deadlineSlot }),
          });
        break;
      }
      case 'pv':
        // Available PV is the forecast; curtailment is the LP's `pv.used` ≤ available.
        break;
    }
  }
  if (missing.length > 0)
    throw new ValidationError(`site ${site.id} cannot be planned`, missing, OPT_ERRORS.state);
  return parseProblem({
    slots: inputs.slots ?? inputs.prices.import.length,
    slotMinutes: inputs.slotMinutes,
    prices: inputs.prices,
    grid: {
      importLimitKw: inputs.grid.importLimitKw ?? site.grid.importLimitKw,
      exportLimitKw: inputs.grid.exportLimitKw ?? site.grid.exportLimitKw,
    },
    baseLoadKw: inputs.forecast.baseLoadKw,
    pvKw: inputs.forecast.pvKw,
    assets,
    terminalPricePerKwh: inputs.terminalPricePerKwh ?? terminalPrice(inputs.prices.import),
    ...(inputs.peakPeriods?.length ? { peakPeriods: inputs.peakPeriods } : {}),
    ...(inputs.reservations?.length ? { reservations: inputs.reservations } : {}),
  });
}
