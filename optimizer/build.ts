import { LpBuilder, type LpModel } from './lp.js';
import { horizon, type Problem, slotHours, valueAt, window } from './problem.js';

/** Column indices of each asset's variables, by slot (null: the variable does not exist). */
export type AssetColumns =
  | { type: 'battery'; charge: number[]; discharge: number[]; soc: number[] }
  | { type: 'shiftable' | 'ev'; power: (number | null)[] }
  | { type: 'sheddable'; shed: number[] }
  | { type: 'thermal'; power: number[]; temp: number[] };

export interface Layout {
  T: number;
  dtH: number;
  import: number[];
  export: number[];
  pvUsed: number[];
  peak: number | null;
  balanceRows: number[];
  /** Elastic builds only: unmet demand (slack up) and unabsorbed surplus (slack down) per slot. */
  shortfall: number[];
  surplus: number[];
  assets: Map<string, AssetColumns>;
}

export interface BuildOptions {
  /**
   * Feasibility phase for diagnosis: every balance row gets a shortfall and a surplus column,
   * and the objective is their sum (kWh) alone. Solvable whenever each asset is feasible on
   * its own; a positive shortfall marks slots the grid connection cannot serve.
   */
  elastic?: boolean;
  /**
   * Re-planning only (never in a one-shot solve): a penalty per kWh of deviation from target
   * values of named columns (the previous plan's near-term setpoints), so small input changes
   * do not flip decisions back and forth. Adds `anchor.dev[j]` ≥ |x_j − target|.
   */
  anchor?: { targets: ReadonlyMap<string, number>; penaltyPerKwh: number };
}

/**
 * The site's LP, exactly the model of README.md: costs in currency, powers in kW, energies in
 * kWh. Pure: the same problem always gives the same model, columns and rows in the same order.
 */
export function buildLp(p: Problem, options: BuildOptions = {}): { lp: LpModel; layout: Layout } {
  const T = horizon(p);
  const dt = slotHours(p);
  const b = new LpBuilder();
  const elastic = options.elastic === true;
  const cost = (c: number) => (elastic ? 0 : c);
  const range = (n: number) => Array.from({ length: n }, (_, t) => t);

  const layout: Layout = {
    T,
    dtH: dt,
    import: range(T).map((t) =>
      b.col(
        `grid.import[${t}]`,
        0,
        valueAt(p.grid.importLimitKw, t, Infinity),
        cost(p.prices.import[t]! * dt),
      ),
    ),
    export: range(T).map((t) =>
      b.col(
        `grid.export[${t}]`,
        0,
        valueAt(p.grid.exportLimitKw, t, Infinity),
        cost(-p.prices.export[t]! * dt),
      ),
    ),
    pvUsed: range(T).map((t) => b.col(`pv.used[${t}]`, 0, p.pvKw[t]!, 0)),
    peak: null,
    balanceRows: [],
    shortfall: elastic ? range(T).map((t) => b.col(`slack.shortfall[${t}]`, 0, Infinity, dt)) : [],
    surplus: elastic ? range(T).map((t) => b.col(`slack.surplus[${t}]`, 0, Infinity, dt)) : [],
    assets: new Map(),
  };

  // Per slot: entries of the balance row (supply positive) and its right-hand side (demand).
  const balance: [number, number][][] = range(T).map((t) => {
    const e: [number, number][] = [
      [layout.import[t]!, 1],
      [layout.export[t]!, -1],
      [layout.pvUsed[t]!, 1],
    ];
    if (elastic) e.push([layout.shortfall[t]!, 1], [layout.surplus[t]!, -1]);
    return e;
  });
  const demand = range(T).map((t) => p.baseLoadKw[t]!);

  for (const a of p.assets) {
    const tag = `${a.type}[${a.id}]`;
    switch (a.type) {
      case 'battery': {
        const wear = cost(a.wearCostPerKwh * dt);
        const charge = range(T).map((t) => b.col(`${tag}.charge[${t}]`, 0, a.maxChargeKw, wear));
        const discharge = range(T).map((t) => b.col(`${tag}.discharge[${t}]`, 0, a.maxDischargeKw, wear));
        const finalMin = Math.max(a.minSocKwh, a.finalMinKwh ?? 0);
        // soc[t] is the energy at the start of slot t, for t = 1..T (soc[0] = initialKwh).
        const soc = range(T).map((t) =>
          b.col(`${tag}.soc[${t + 1}]`, t + 1 === T ? finalMin : a.minSocKwh, a.capacityKwh, 0),
        );
        for (let t = 0; t < T; t++) {
          const entries: [number, number][] = [
            [soc[t]!, 1],
            [charge[t]!, -a.chargeEfficiency * dt],
            [discharge[t]!, dt / a.dischargeEfficiency],
          ];
          if (t > 0) entries.push([soc[t - 1]!, -1]);
          const rhs = t === 0 ? a.initialKwh : 0;
          b.row(`${tag}.energy[${t + 1}]`, rhs, rhs, entries);
          balance[t]!.push([discharge[t]!, 1], [charge[t]!, -1]);
        }
        layout.assets.set(a.id, { type: 'battery', charge, discharge, soc });
        break;
      }
      case 'shiftable':
      case 'ev': {
        const [start, end] = window(a, T);
        const power = range(T).map((t) =>
          t >= start && t < end ? b.col(`${tag}.power[${t}]`, 0, a.maxKw, 0) : null,
        );
        const entries: [number, number][] = [];
        power.forEach((c, t) => {
          if (c === null) return;
          entries.push([c, dt]);
          balance[t]!.push([c, -1]);
        });
        b.row(`${tag}.energy`, a.energyKwh, a.energyKwh, entries);
        layout.assets.set(a.id, { type: a.type, power });
        break;
      }
      case 'sheddable': {
        const shed = range(T).map((t) => {
          const base = valueAt(a.baselineKw, t);
          demand[t]! += base;
          const c = b.col(`${tag}.shed[${t}]`, 0, a.maxShedFraction * base, cost(a.costPerKwh * dt));
          balance[t]!.push([c, 1]);
          return c;
        });
        layout.assets.set(a.id, { type: 'sheddable', shed });
        break;
      }
      case 'thermal': {
        const loss = dt / (a.capacitanceKwhPerK * a.resistanceKPerKw);
        const gain = (dt * a.cop) / a.capacitanceKwhPerK;
        const power = range(T).map((t) => b.col(`${tag}.power[${t}]`, 0, a.maxKw, 0));
        // temp[t] is the zone temperature at the start of slot t (t = 1..T), held in the
        // comfort band of slot min(t, T-1).
        const temp = range(T).map((t) => {
          const band = Math.min(t + 1, T - 1);
          return b.col(`${tag}.temp[${t + 1}]`, valueAt(a.minC, band), valueAt(a.maxC, band), 0);
        });
        for (let t = 0; t < T; t++) {
          const entries: [number, number][] = [
            [temp[t]!, 1],
            [power[t]!, -gain],
          ];
          let rhs = loss * valueAt(a.outdoorC, t);
          if (t > 0) entries.push([temp[t - 1]!, -(1 - loss)]);
          else rhs += (1 - loss) * a.initialC;
          b.row(`${tag}.temp[${t + 1}]`, rhs, rhs, entries);
          balance[t]!.push([power[t]!, -1]);
        }
        layout.assets.set(a.id, { type: 'thermal', power, temp });
        break;
      }
    }
  }

  if (p.peakChargePerKw > 0 && !elastic) {
    const peak = b.col('grid.peak', 0, Infinity, p.peakChargePerKw);
    layout.peak = peak;
    for (let t = 0; t < T; t++)
      b.row(`grid.peak[${t}]`, -Infinity, 0, [
        [layout.import[t]!, 1],
        [peak, -1],
      ]);
  }

  if (options.anchor && !elastic) {
    const { targets, penaltyPerKwh } = options.anchor;
    const byName = new Map(b.columnNames().map((n, j) => [n, j]));
    for (const [name, target] of targets) {
      const j = byName.get(name);
      if (j === undefined) continue;
      const dev = b.col(`anchor.dev[${j}]`, 0, Infinity, penaltyPerKwh * dt);
      b.row(`anchor.above[${j}]`, -Infinity, target, [
        [j, 1],
        [dev, -1],
      ]);
      b.row(`anchor.below[${j}]`, target, Infinity, [
        [j, 1],
        [dev, 1],
      ]);
    }
  }

  for (let t = 0; t < T; t++)
    layout.balanceRows.push(b.row(`balance[${t}]`, demand[t]!, demand[t]!, balance[t]!));

  return { lp: b.finish(), layout };
}
