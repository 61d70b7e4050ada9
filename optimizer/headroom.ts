import { type AssetHeadroom, type HeadroomPlan, thermalComfortKwh } from '../control/headroom.js';
import { horizon, type Problem, slotHours, valueAt } from './problem.js';
import type { Schedule } from './schedule.js';

export interface HeadroomOptions {
  /** The site's id in the plan (default `site`). */
  siteId?: string;
  /** Start of slot 0, ms since epoch (default 0). */
  startMs?: number;
  /**
   * How long an activation is held (the product's full activation + minimum duration), for a
   * heat pump's comfort headroom; default the longest `sustainMinutes` of the problem's
   * reservations, else one hour.
   */
  sustainMinutes?: number;
}

/**
 * What a solved schedule leaves free, in the shape the market module's `availability()` takes
 * (market/availability.ts): batteries (planned net discharge and the stored-energy trajectory),
 * heat pumps (planned power and the comfort energy of the planned temperatures) and sheddable
 * loads. Shiftable loads and EVs are not offered. Pure.
 *
 * Heat pumps: `thermalComfortKwh` (control/headroom.ts), the same core the market's
 * `siteHeadroom` uses on stored plans; here the band may change per slot as in the LP.
 *
 * Sheddable loads: the plan's shedding is not a field of the market's shape, so `maxShedKw`
 * is what is left to shed in the tightest slot (min over the horizon of maxShedFraction·B − y):
 * never more than the load can give, possibly less.
 */
export function headroomFromSchedule(p: Problem, s: Schedule, options: HeadroomOptions = {}): HeadroomPlan {
  const T = horizon(p);
  const dt = slotHours(p);
  const longest = Math.max(0, ...(p.reservations ?? []).map((r) => r.sustainMinutes));
  const sustainH = (options.sustainMinutes ?? (longest > 0 ? longest : 60)) / 60;
  const assets: AssetHeadroom[] = [];
  for (const a of p.assets) {
    const as = s.assets[a.id];
    if (a.type === 'battery' && as?.type === 'battery')
      assets.push({
        kind: 'battery',
        id: a.id,
        initialKwh: a.initialKwh,
        minKwh: a.minSocKwh,
        maxKwh: a.capacityKwh,
        maxChargeKw: a.maxChargeKw,
        maxDischargeKw: a.maxDischargeKw,
        chargeEfficiency: a.chargeEfficiency,
        dischargeEfficiency: a.dischargeEfficiency,
        plannedKw: as.dischargeKw.map((d, t) => d - as.chargeKw[t]!),
        // Solver noise may put a value a hair below zero; the shape wants kWh ≥ 0.
        storedKwh: as.socKwh.map((e) => Math.max(0, e)),
      });
    else if (a.type === 'thermal' && as?.type === 'thermal') {
      // The band that holds the temperature at boundary k is that of slot min(k, T − 1).
      const { upKwh, downKwh } = thermalComfortKwh(
        as.temperatureC,
        dt,
        sustainH,
        a.capacitanceKwhPerK / a.cop,
        (k) => ({
          minC: valueAt(a.minC, Math.min(k, T - 1)),
          maxC: valueAt(a.maxC, Math.min(k, T - 1)),
        }),
      );
      assets.push({
        kind: 'thermal',
        id: a.id,
        maxKw: a.maxKw,
        plannedKw: as.powerKw.map((v) => Math.max(0, v)),
        upKwh,
        downKwh,
      });
    } else if (a.type === 'sheddable' && as?.type === 'sheddable') {
      let left = Infinity;
      for (let t = 0; t < T; t++)
        left = Math.min(left, a.maxShedFraction * valueAt(a.baselineKw, t) - as.shedKw[t]!);
      assets.push({
        kind: 'sheddable',
        id: a.id,
        plannedKw: as.powerKw.map((v) => Math.max(0, v)),
        maxShedKw: Math.max(0, left),
      });
    }
  }
  return {
    startMs: options.startMs ?? 0,
    slotMs: Math.round(p.slotMinutes * 60_000),
    slots: T,
    sites: [{ siteId: options.siteId ?? 'site', assets }],
  };
}
