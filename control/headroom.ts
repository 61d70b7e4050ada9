import { z } from 'zod';
import { type Asset, IdSchema, type Site } from '../model/index.js';

/**
 * Headroom: what a plan leaves free, per asset and slot, for the market's availability
 * (market/availability.ts) — one shape and one plan → headroom function, shared by the
 * optimiser (which produces plans) and the market (which sells what they leave), so neither
 * imports the other.
 */

const kw = z.number().nonnegative();
const series = z.array(z.number());

/**
 * What a plan leaves free, per asset and slot: the optimiser's output in the form availability
 * needs. Power is in kW and constant within a slot; `plannedKw` is the plan's power per slot.
 */
export const AssetHeadroomSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('battery'),
    id: IdSchema,
    /** Stored energy at the start of the horizon, kWh. */
    initialKwh: kw,
    minKwh: kw,
    maxKwh: kw,
    maxChargeKw: kw,
    maxDischargeKw: kw,
    chargeEfficiency: z.number().gt(0).max(1),
    dischargeEfficiency: z.number().gt(0).max(1),
    /** Planned net discharge per slot (negative = charging). */
    plannedKw: series,
    /**
     * Planned stored energy at each slot boundary (slots + 1 values, the optimiser's `socKwh`).
     * When given it is used as is; otherwise it is integrated from `initialKwh` and `plannedKw`.
     */
    storedKwh: z.array(kw).optional(),
  }),
  z.object({
    kind: z.literal('thermal'),
    id: IdSchema,
    /** Heat pump electrical limit. */
    maxKw: kw,
    /** Planned electrical consumption per slot. */
    plannedKw: z.array(kw),
    /**
     * Per slot: electrical energy that can be withheld (up) or added (down) from any moment in
     * the slot before the zone leaves its comfort band; computed by the optimiser's RC model.
     */
    upKwh: z.array(kw),
    downKwh: z.array(kw),
  }),
  z.object({
    kind: z.literal('sheddable'),
    id: IdSchema,
    /** Planned consumption per slot. */
    plannedKw: z.array(kw),
    /** Most that may be shed (nominal × maxShedFraction). */
    maxShedKw: kw,
    /** Longest continuous shed the occupants accept; absent = no limit. */
    maxShedMinutes: z.number().positive().optional(),
  }),
]);
export type AssetHeadroom = z.infer<typeof AssetHeadroomSchema>;

export const HeadroomPlanSchema = z
  .object({
    /** Start of the first slot, ms since epoch (UTC). */
    startMs: z.number().int(),
    slotMs: z.number().int().positive(),
    slots: z.number().int().positive(),
    sites: z.array(z.object({ siteId: IdSchema, assets: z.array(AssetHeadroomSchema) })),
  })
  .superRefine((plan, ctx) => {
    for (const [s, site] of plan.sites.entries())
      for (const [a, asset] of site.assets.entries()) {
        const arrays: [string, number[]][] = [['plannedKw', asset.plannedKw]];
        if (asset.kind === 'thermal') arrays.push(['upKwh', asset.upKwh], ['downKwh', asset.downKwh]);
        for (const [name, values] of arrays)
          if (values.length !== plan.slots)
            ctx.addIssue({
              code: 'custom',
              path: ['sites', s, 'assets', a, name],
              message: `expected ${plan.slots} values (one per slot), got ${values.length}`,
            });
        if (asset.kind === 'battery' && asset.storedKwh && asset.storedKwh.length !== plan.slots + 1)
          ctx.addIssue({
            code: 'custom',
            path: ['sites', s, 'assets', a, 'storedKwh'],
            message: `expected ${plan.slots + 1} values (one per slot boundary), got ${asset.storedKwh.length}`,
          });
        if (asset.kind === 'battery' && !(asset.minKwh <= asset.maxKwh))
          ctx.addIssue({
            code: 'custom',
            path: ['sites', s, 'assets', a, 'maxKwh'],
            message: 'maxKwh below minKwh',
          });
      }
  });
export type HeadroomPlan = z.infer<typeof HeadroomPlanSchema>;

/** A time range, ms since epoch (UTC), `toMs` exclusive. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

export const HEADROOM_SLOT_MS = 900_000;
/** How far past the asked range the plan reaches, so the longest sustain window fits (FCR-D: 20 min + 30 s). */
export const HEADROOM_TAIL_MS = 2 * 3_600_000;

/**
 * The part of an optimiser plan availability reads (optimizer/plan-store.ts `StoredPlan`):
 * structural, so market/ does not depend on the optimiser's storage.
 */
export interface PlannedSchedule {
  startMs: number;
  slotMinutes: number;
  schedule: {
    assets: Record<
      string,
      | { type: 'battery'; chargeKw: number[]; dischargeKw: number[]; socKwh: number[] }
      | { type: 'sheddable'; shedKw: number[]; powerKw: number[] }
      | { type: 'thermal'; powerKw: number[]; temperatureC: number[] }
      | { type: string }
    >;
  };
}

/** What is known of a site now: its latest plan, and the latest battery state of charge (%) per asset. */
export interface SiteState {
  plan?: PlannedSchedule | null;
  socPct?: Record<string, number | undefined>;
  /**
   * How long an activation is held (full activation + minimum duration), for a heat pump's
   * comfort headroom; default one hour.
   */
  sustainMinutes?: number;
}

/**
 * A heat pump's comfort headroom per slot: holding a change ΔP for D hours moves the zone by
 * at most cop·ΔP·D/C, so the electrical energy the band allows from slot i is margin · C/cop
 * (`kwhPerK`), the margin being the smallest distance of the planned temperature (linear
 * between slot boundaries, `temps` has slots + 1 values) to the band over
 * [slot start, slot end + D]. `band(k)` is the band that holds at boundary k (it may change
 * per slot). Pure.
 */
export function thermalComfortKwh(
  temps: readonly number[],
  slotH: number,
  sustainH: number,
  kwhPerK: number,
  band: (k: number) => { minC: number; maxC: number },
): { upKwh: number[]; downKwh: number[] } {
  const T = temps.length - 1;
  const at = (tau: number) => {
    const x = Math.min(tau / slotH, T);
    const k = Math.min(Math.floor(x), T - 1);
    return temps[k]! + (temps[k + 1]! - temps[k]!) * (x - k);
  };
  const upKwh: number[] = [];
  const downKwh: number[] = [];
  for (let i = 0; i < T; i++) {
    const to = Math.min((i + 1) * slotH + sustainH, T * slotH);
    let up = Infinity;
    let down = Infinity;
    const visit = (tau: number) => {
      const k0 = Math.floor(tau / slotH + 1e-9);
      const k1 = Math.ceil(tau / slotH - 1e-9);
      const lo = Math.max(band(k0).minC, band(k1).minC);
      const hi = Math.min(band(k0).maxC, band(k1).maxC);
      up = Math.min(up, at(tau) - lo);
      down = Math.min(down, hi - at(tau));
    };
    visit(i * slotH);
    visit(to);
    for (let k = i + 1; k * slotH < to; k++) visit(k * slotH);
    upKwh.push(Math.max(0, up) * kwhPerK);
    downKwh.push(Math.max(0, down) * kwhPerK);
  }
  return { upKwh, downKwh };
}

/**
 * Headroom of one site's assets over `slots` slots from `startMs`. With a plan that covers the
 * whole window in 15-minute slots, batteries and sheddable loads take the plan's power and
 * stored-energy trajectory. Otherwise the documented **fallback from asset limits**: a battery
 * is planned idle at its measured state of charge (the middle of its SoC band when none is
 * known), a sheddable load runs at `nominalKw` and may shed `nominalKw × maxShedFraction`.
 * A heat pump (thermal) offers its planned power within the comfort energy of the planned
 * temperatures (`thermalComfortKwh`, the asset's band); without a plan it offers nothing, nor
 * do EV chargers, shiftable loads and PV (availability never promises what it cannot check).
 */
export function siteHeadroom(
  site: Site,
  startMs: number,
  slots: number,
  state: SiteState = {},
): AssetHeadroom[] {
  const plan = coveringPlan(state.plan, startMs, slots);
  const out: AssetHeadroom[] = [];
  for (const asset of siteAssets(site)) {
    const planned = plan?.schedule.assets[asset.id];
    const offset = plan ? Math.round((startMs - plan.startMs) / HEADROOM_SLOT_MS) : 0;
    const cut = (values: number[], extra = 0) => values.slice(offset, offset + slots + extra);
    if (asset.type === 'battery') {
      const minKwh = (asset.capacityKwh * asset.minSocPct) / 100;
      const maxKwh = (asset.capacityKwh * asset.maxSocPct) / 100;
      const common = {
        kind: 'battery' as const,
        id: asset.id,
        minKwh,
        maxKwh,
        maxChargeKw: asset.maxChargeKw,
        maxDischargeKw: asset.maxDischargeKw,
        chargeEfficiency: asset.chargeEfficiency,
        dischargeEfficiency: asset.dischargeEfficiency,
      };
      if (planned && 'socKwh' in planned) {
        const storedKwh = cut(planned.socKwh, 1).map((v) => clamp(v, 0, asset.capacityKwh));
        const plannedKw = cut(planned.dischargeKw).map((d, t) => d - (cut(planned.chargeKw)[t] ?? 0));
        out.push({ ...common, initialKwh: storedKwh[0]!, plannedKw, storedKwh });
      } else {
        const pct = state.socPct?.[asset.id];
        const initialKwh =
          pct === undefined || !Number.isFinite(pct)
            ? (minKwh + maxKwh) / 2
            : clamp((asset.capacityKwh * pct) / 100, 0, asset.capacityKwh);
        out.push({ ...common, initialKwh, plannedKw: Array(slots).fill(0) });
      }
    } else if (asset.type === 'thermal' && planned && 'temperatureC' in planned) {
      const temps = cut(planned.temperatureC, 1);
      const slotH = HEADROOM_SLOT_MS / 3_600_000;
      const sustainH = (state.sustainMinutes ?? 60) / 60;
      const band = { minC: asset.minC, maxC: asset.maxC };
      out.push({
        kind: 'thermal',
        id: asset.id,
        maxKw: asset.maxKw,
        plannedKw: cut(planned.powerKw).map((v) => clamp(v, 0, asset.maxKw)),
        ...thermalComfortKwh(temps, slotH, sustainH, asset.capacitanceKwhPerK / asset.cop, () => band),
      });
    } else if (asset.type === 'sheddable') {
      const plannedKw =
        planned && 'shedKw' in planned
          ? cut(planned.powerKw).map((p) => Math.max(0, p))
          : Array(slots).fill(asset.nominalKw);
      out.push({
        kind: 'sheddable',
        id: asset.id,
        plannedKw,
        maxShedKw: asset.nominalKw * asset.maxShedFraction,
        ...(asset.maxShedMinutes ? { maxShedMinutes: asset.maxShedMinutes } : {}),
      });
    }
  }
  return out;
}

/** The plan if it has 15-minute slots and covers every slot asked for, else null. */
function coveringPlan(
  plan: PlannedSchedule | null | undefined,
  startMs: number,
  slots: number,
): PlannedSchedule | null {
  if (!plan || plan.slotMinutes * 60_000 !== HEADROOM_SLOT_MS) return null;
  const offset = (startMs - plan.startMs) / HEADROOM_SLOT_MS;
  if (!Number.isInteger(offset) || offset < 0) return null;
  const covers = (a: PlannedSchedule['schedule']['assets'][string]) =>
    'socKwh' in a
      ? a.socKwh.length >= offset + slots + 1
      : 'temperatureC' in a
        ? a.temperatureC.length >= offset + slots + 1 && a.powerKw.length >= offset + slots
        : 'shedKw' in a
          ? a.powerKw.length >= offset + slots
          : true;
  return Object.values(plan.schedule.assets).every(covers) ? plan : null;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The slot grid availability is computed on for a range: 15-minute slots from the range's slot to two hours past its end. */
export function headroomGrid(range: TimeRange): { startMs: number; slots: number } {
  const startMs = Math.floor(range.fromMs / HEADROOM_SLOT_MS) * HEADROOM_SLOT_MS;
  return { startMs, slots: Math.ceil((range.toMs + HEADROOM_TAIL_MS - startMs) / HEADROOM_SLOT_MS) };
}

/** A portfolio's headroom plan from its sites' assets and state. */
export function portfolioHeadroom(
  sites: readonly Site[],
  range: TimeRange,
  states: Record<string, SiteState>,
): HeadroomPlan {
  const { startMs, slots } = headroomGrid(range);
  return {
    startMs,
    slotMs: HEADROOM_SLOT_MS,
    slots,
    sites: sites.map((site) => ({
      siteId: site.id,
      assets: siteHeadroom(site, startMs, slots, states[site.id]),
    })),
  };
}

/** The asset's state-of-charge point, if the sites file binds one (`measure.soc`). */
export function socPoint(asset: Asset): string | undefined {
  return asset.type === 'battery' ? asset.measure.soc : undefined;
}

/** Every asset of a site, over its buildings. */
export function siteAssets(site: Site): Asset[] {
  return site.buildings.flatMap((b) => b.assets);
}
