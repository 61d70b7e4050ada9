import type { AssetHeadroom, HeadroomPlan } from '../market/availability.js';
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
 * Heat pumps: holding a change ΔP for D hours moves the zone by at most cop·ΔP·D/C, so the
 * electrical energy the band allows from slot i is (margin · C / cop), the margin being the
 * smallest distance of the planned temperature to the band over [slot start, slot end + D]
 * (market/thermal.ts does the same for one band; here the band may change per slot).
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
      const temps = as.temperatureC;
      const kwhPerK = a.capacitanceKwhPerK / a.cop;
      const at = (tau: number) => {
        const x = Math.min(tau / dt, T);
        const k = Math.min(Math.floor(x), T - 1);
        return temps[k]! + (temps[k + 1]! - temps[k]!) * (x - k);
      };
      // The band that holds the temperature at boundary k is that of slot min(k, T − 1).
      const band = (k: number, key: 'minC' | 'maxC') => valueAt(a[key], Math.min(k, T - 1));
      const upKwh: number[] = [];
      const downKwh: number[] = [];
      for (let i = 0; i < T; i++) {
        const to = Math.min((i + 1) * dt + sustainH, T * dt);
        let up = Infinity;
        let down = Infinity;
        const visit = (tau: number) => {
          const k0 = Math.floor(tau / dt + 1e-9);
          const k1 = Math.ceil(tau / dt - 1e-9);
          const lo = Math.max(band(k0, 'minC'), band(k1, 'minC'));
          const hi = Math.min(band(k0, 'maxC'), band(k1, 'maxC'));
          up = Math.min(up, at(tau) - lo);
          down = Math.min(down, hi - at(tau));
        };
        visit(i * dt);
        visit(to);
        for (let k = i + 1; k * dt < to; k++) visit(k * dt);
        upKwh.push(Math.max(0, up) * kwhPerK);
        downKwh.push(Math.max(0, down) * kwhPerK);
      }
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
