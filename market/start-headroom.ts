import type { Asset, Site } from '../model/index.js';
import type { AssetHeadroom, HeadroomPlan } from './availability.js';
import type { TimeRange } from './service.js';

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
      | { type: string }
    >;
  };
}

/** What is known of a site now: its latest plan, and the latest battery state of charge (%) per asset. */
export interface SiteState {
  plan?: PlannedSchedule | null;
  socPct?: Record<string, number | undefined>;
}

/**
 * Headroom of one site's assets over `slots` slots from `startMs`. With a plan that covers the
 * whole window in 15-minute slots, batteries and sheddable loads take the plan's power and
 * stored-energy trajectory. Otherwise the documented **fallback from asset limits**: a battery
 * is planned idle at its measured state of charge (the middle of its SoC band when none is
 * known), a sheddable load runs at `nominalKw` and may shed `nominalKw × maxShedFraction`.
 * Thermal zones, EV chargers, shiftable loads and PV offer nothing without a plan's
 * temperatures and sessions (availability never promises what it cannot check).
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
