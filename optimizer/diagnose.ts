import { buildLp } from './build.js';
import {
  type AssetProblem,
  horizon,
  type Problem,
  type Reservation,
  slotHours,
  valueAt,
  window,
} from './problem.js';
import type { LpSolver } from './solver.js';

/** Why a problem has no feasible plan: the constraint family that breaks, and where. */
export interface Infeasibility {
  /** e.g. `thermal[z1].temp`, `battery[b1].soc`, `shiftable[dish].energy`, `grid.import`. */
  family: string;
  asset?: string;
  slot?: number;
  message: string;
}

const fmt = (v: number) => String(Math.round(v * 1000) / 1000);

/**
 * Whether an asset can meet its own constraints with the grid unlimited, by propagating the
 * interval of states it can reach slot by slot (exact: the dynamics are monotone and the
 * reachable set of a linear system with box inputs is an interval).
 */
export function assetAloneInfeasibility(p: Problem, a: AssetProblem): Infeasibility | null {
  const T = horizon(p);
  const dt = slotHours(p);
  const tag = `${a.type}[${a.id}]`;
  switch (a.type) {
    case 'battery': {
      let lo = a.initialKwh;
      let hi = a.initialKwh;
      for (let t = 1; t <= T; t++) {
        const min = t === T ? Math.max(a.minSocKwh, a.finalMinKwh ?? 0) : a.minSocKwh;
        const up = hi + a.chargeEfficiency * a.maxChargeKw * dt;
        const down = lo - (a.maxDischargeKw / a.dischargeEfficiency) * dt;
        if (up < min - 1e-9) {
          const what =
            t === T && min > a.minSocKwh ? `finalMinKwh (${fmt(min)} kWh)` : `minSocKwh (${fmt(min)} kWh)`;
          return {
            family: `${tag}.soc`,
            asset: a.id,
            slot: t,
            message: `battery ${a.id} cannot reach ${what} at slot ${t}, even charging at full power (at most ${fmt(up)} kWh)`,
          };
        }
        if (down > a.capacityKwh + 1e-9)
          return {
            family: `${tag}.soc`,
            asset: a.id,
            slot: t,
            message: `battery ${a.id} cannot get below its capacity (${fmt(a.capacityKwh)} kWh) at slot ${t}, even discharging at full power`,
          };
        hi = Math.min(up, a.capacityKwh);
        lo = Math.max(down, min);
      }
      return null;
    }
    case 'shiftable':
    case 'ev': {
      const [start, end] = window(a, T);
      const most = a.maxKw * dt * (end - start);
      if (a.energyKwh > most + 1e-9)
        return {
          family: `${tag}.energy`,
          asset: a.id,
          message: `${a.type === 'ev' ? 'EV' : 'shiftable load'} ${a.id} cannot get ${fmt(a.energyKwh)} kWh between slot ${start} and slot ${end} at up to ${fmt(a.maxKw)} kW (at most ${fmt(most)} kWh)`,
        };
      return null;
    }
    case 'sheddable':
      return null;
    case 'thermal': {
      const loss = dt / (a.capacitanceKwhPerK * a.resistanceKPerKw);
      const gain = (dt * a.cop) / a.capacitanceKwhPerK;
      let lo = a.initialC;
      let hi = a.initialC;
      for (let t = 1; t <= T; t++) {
        const band = Math.min(t, T - 1);
        const minC = valueAt(a.minC, band);
        const maxC = valueAt(a.maxC, band);
        const out = valueAt(a.outdoorC, t - 1);
        const up = (1 - loss) * hi + loss * out + gain * a.maxKw;
        const down = (1 - loss) * lo + loss * out;
        if (up < minC - 1e-9)
          return {
            family: `${tag}.temp`,
            asset: a.id,
            slot: t,
            message: `thermal ${a.id} cannot reach minC (${fmt(minC)} °C) at slot ${t}, even with the heat pump at full power (at most ${fmt(up)} °C)`,
          };
        if (down > maxC + 1e-9)
          return {
            family: `${tag}.temp`,
            asset: a.id,
            slot: t,
            message: `thermal ${a.id} cannot stay below maxC (${fmt(maxC)} °C) at slot ${t}, even with the heat pump off (at least ${fmt(down)} °C)`,
          };
        hi = Math.min(up, maxC);
        lo = Math.max(down, minC);
      }
      return null;
    }
  }
}

/**
 * Finds the constraint family that makes a problem infeasible: first each asset on its own;
 * if every one is feasible, the only coupling left is the grid connection, and an elastic LP
 * (the balance may be missed at a cost) shows at which slots the import or export limit is
 * too tight.
 */
export async function diagnoseInfeasibility(p: Problem, solver: LpSolver): Promise<Infeasibility> {
  for (const a of p.assets) {
    const found = assetAloneInfeasibility(p, a);
    if (found) return found;
  }
  if (p.reservations?.length) {
    const found = await reservationInfeasibility(p, solver);
    if (found) return found;
  }
  const { lp, layout } = buildLp(p, { elastic: true });
  const sol = await solver.solve(lp);
  if (sol.status === 'optimal' && sol.x) {
    const x = sol.x;
    const slots = (cols: number[]) => cols.flatMap((c, t) => ((x[c] ?? 0) > 1e-6 ? [t] : []));
    const short = slots(layout.shortfall);
    if (short.length > 0) {
      const t = short[0]!;
      const limit = valueAt(p.grid.importLimitKw, t, Infinity);
      return {
        family: 'grid.import',
        slot: t,
        message: `the grid import limit (${fmt(limit)} kW) cannot cover the site at slot ${t}: ${fmt(x[layout.shortfall[t]!]!)} kW short (${short.length} slot${short.length > 1 ? 's' : ''} short in all)`,
      };
    }
    const over = slots(layout.surplus);
    if (over.length > 0) {
      const t = over[0]!;
      return {
        family: 'grid.export',
        slot: t,
        message: `the grid export limit (${fmt(valueAt(p.grid.exportLimitKw, t, Infinity))} kW) cannot take the site's surplus at slot ${t}`,
      };
    }
  }
  return {
    family: 'unknown',
    message: 'no feasible plan exists, and no single constraint family explains it',
  };
}

/**
 * When the site is feasible without its market reservations, the reservation that cannot be
 * held on its own, and the first slot where it breaks (found by bisection on how many of its
 * slots are asked for).
 */
async function reservationInfeasibility(p: Problem, solver: LpSolver): Promise<Infeasibility | null> {
  const feasible = async (reservations: Reservation[]) =>
    (await solver.solve(buildLp({ ...p, reservations }).lp)).status === 'optimal';
  if (!(await feasible([]))) return null;
  const T = horizon(p);
  for (const r of p.reservations ?? []) {
    if (await feasible([r])) continue;
    const upTo = (k: number): Reservation => {
      const cut = (kw: Reservation['upKw']) =>
        Array.from({ length: T }, (_, t) => (t < k ? valueAt(kw, t) : 0));
      return { ...r, upKw: cut(r.upKw), downKw: cut(r.downKw) };
    };
    let lo = 0; // feasible with the first lo slots asked
    let hi = T; // infeasible with the first hi slots asked
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await feasible([upTo(mid)])) lo = mid;
      else hi = mid;
    }
    const slot = hi - 1;
    const asked = [
      valueAt(r.upKw, slot) > 0 ? `${fmt(valueAt(r.upKw, slot))} kW up` : '',
      valueAt(r.downKw, slot) > 0 ? `${fmt(valueAt(r.downKw, slot))} kW down` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return {
      family: `reserve[${r.id}]`,
      slot,
      message: `reservation ${r.id} cannot be held at slot ${slot}: ${asked} for ${fmt(r.sustainMinutes)} minutes is more than the batteries, heat pumps, sheddable loads and grid connection can keep free`,
    };
  }
  return {
    family: 'reserve',
    message: 'the market reservations cannot all be held at once, though each can on its own',
  };
}
