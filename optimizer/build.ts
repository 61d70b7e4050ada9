import { LpBuilder, type LpModel } from './lp.js';
import { decisionBlocks, horizon, type Problem, slotHours, valueAt, window } from './problem.js';

/** Column indices of each asset's variables, by slot (null: the variable does not exist). */
export type AssetColumns =
  | { type: 'battery'; charge: number[]; discharge: number[]; soc: number[] }
  | { type: 'shiftable' | 'ev'; power: (number | null)[] }
  | { type: 'sheddable'; shed: number[] }
  | { type: 'thermal'; power: number[]; temp: number[] };

/** Per direction and asset id: the reserve column of each slot (null where none is held). */
export interface ReserveColumns {
  up: Map<string, (number | null)[]>;
  down: Map<string, (number | null)[]>;
  /** Down reserve from curtailing PV that the plan uses. */
  pvDown: (number | null)[];
}

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
  /** Per reservation id: the columns holding it (README "Market reservations"). */
  reserves: Map<string, ReserveColumns>;
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
    reserves: new Map(),
  };
  // Decision columns are shared by the slots of a block (one block per slot by default).
  const blocks = decisionBlocks(p);
  /** One column per block over [from, to), repeated per slot; null outside. */
  const perBlock = (from: number, to: number, make: (start: number, len: number) => number) => {
    const cols: (number | null)[] = Array(T).fill(null);
    for (const [b0, b1] of blocks) {
      const start = Math.max(b0, from);
      const end = Math.min(b1, to);
      if (start >= end) continue;
      const c = make(start, end - start);
      for (let t = start; t < end; t++) cols[t] = c;
    }
    return cols;
  };
  const everySlot = (make: (start: number, len: number) => number) => perBlock(0, T, make) as number[];

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
        const wear = (len: number) => cost(a.wearCostPerKwh * dt * len);
        const charge = everySlot((t, n) => b.col(`${tag}.charge[${t}]`, 0, a.maxChargeKw, wear(n)));
        const discharge = everySlot((t, n) => b.col(`${tag}.discharge[${t}]`, 0, a.maxDischargeKw, wear(n)));
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
        const power = perBlock(start, end, (t) => b.col(`${tag}.power[${t}]`, 0, a.maxKw, 0));
        const energy = new Map<number, number>();
        power.forEach((c, t) => {
          if (c === null) return;
          energy.set(c, (energy.get(c) ?? 0) + dt);
          balance[t]!.push([c, -1]);
        });
        const entries = [...energy];
        b.row(`${tag}.energy`, a.energyKwh, a.energyKwh, entries);
        layout.assets.set(a.id, { type: a.type, power });
        break;
      }
      case 'sheddable': {
        const shed = everySlot((t0, n) => {
          // Held for the block, so bounded by the smallest baseline in it.
          let least = Infinity;
          for (let t = t0; t < t0 + n; t++) least = Math.min(least, valueAt(a.baselineKw, t));
          return b.col(`${tag}.shed[${t0}]`, 0, a.maxShedFraction * least, cost(a.costPerKwh * dt * n));
        });
        for (let t = 0; t < T; t++) {
          demand[t]! += valueAt(a.baselineKw, t);
          balance[t]!.push([shed[t]!, 1]);
        }
        layout.assets.set(a.id, { type: 'sheddable', shed });
        break;
      }
      case 'thermal': {
        const loss = dt / (a.capacitanceKwhPerK * a.resistanceKPerKw);
        const gain = (dt * a.cop) / a.capacitanceKwhPerK;
        const power = everySlot((t) => b.col(`${tag}.power[${t}]`, 0, a.maxKw, 0));
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

  if (p.reservations?.length && !elastic) addReserves(p, b, layout);

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

type Dir = 'up' | 'down';
type Entries = [number, number][];
/** An affine expression Σ coef·x + constant (a state at a point in time). */
interface Affine {
  entries: Entries;
  constant: number;
}

/**
 * Market reservations (README "Market reservations"): per reservation, direction, providing
 * asset and slot a column r ≥ 0, their sum at least the reserved kW, and for every slot the
 * headroom an activation from any moment of it needs until the end of its sustain time.
 * Columns of several reservations in the same slot add up (they may be activated together).
 */
function addReserves(p: Problem, b: LpBuilder, layout: Layout): void {
  const { T, dtH: dt } = layout;
  const reservations = p.reservations ?? [];
  const need = (r: (typeof reservations)[number], dir: Dir, t: number) =>
    valueAt(dir === 'up' ? r.upKw : r.downKw, t);
  const hours = (r: (typeof reservations)[number]) => r.sustainMinutes / 60;
  // Last slot an activation starting anywhere in slot t reaches (cut at the horizon).
  const reach = (r: (typeof reservations)[number], t: number) =>
    Math.min(T - 1, t + Math.ceil(hours(r) / dt - 1e-9));

  /** Per asset key and direction: per slot, the reserve columns with their sustain hours and reach. */
  type Held = { col: number; h: number; reach: number };
  const held = new Map<string, Held[][]>();
  const holdersOf = (key: string, dir: Dir) => {
    const k = `${dir}:${key}`;
    let list = held.get(k);
    if (!list) {
      list = Array.from({ length: T }, () => []);
      held.set(k, list);
    }
    return list;
  };
  const providers = () =>
    p.assets.filter((a) => a.type === 'battery' || a.type === 'thermal' || a.type === 'sheddable');

  for (const r of reservations) {
    const cols: ReserveColumns = { up: new Map(), down: new Map(), pvDown: Array(T).fill(null) };
    layout.reserves.set(r.id, cols);
    for (const dir of ['up', 'down'] as const) {
      for (const a of providers()) (dir === 'up' ? cols.up : cols.down).set(a.id, Array(T).fill(null));
      for (let t = 0; t < T; t++) {
        const kw = need(r, dir, t);
        if (kw <= 0) continue;
        const entries: Entries = [];
        const add = (key: string, list: (number | null)[]) => {
          const c = b.col(`reserve[${r.id}].${dir}[${key}][${t}]`, 0, Infinity, 0);
          list[t] = c;
          entries.push([c, 1]);
          holdersOf(key, dir)[t]!.push({ col: c, h: hours(r), reach: reach(r, t) });
        };
        for (const a of providers()) add(a.id, (dir === 'up' ? cols.up : cols.down).get(a.id)!);
        if (dir === 'down') add('pv', cols.pvDown);
        b.row(`reserve[${r.id}].${dir}[${t}]`, kw, Infinity, entries);
      }
    }
  }

  const at = (cols: readonly (number | null)[], s: number, coef: number): Entries => {
    const c = cols[s];
    return c === null || c === undefined ? [] : [[c, coef]];
  };
  /** Power headroom over the slots the activation reaches: Σ r + coef·x(s) ≤ limit(s). */
  const powerRows = (
    key: string,
    dir: Dir,
    planned: (s: number) => Entries,
    limit: (s: number) => number,
  ) => {
    const list = held.get(`${dir}:${key}`);
    if (!list) return;
    list.forEach((hs, t) => {
      if (hs.length === 0) return;
      const last = Math.max(...hs.map((x) => x.reach));
      for (let s = t; s <= last; s++) {
        const entries: Entries = hs.filter((x) => s <= x.reach).map((x) => [x.col, 1]);
        b.row(`reserve[${key}].${dir}.power[${t}]`, -Infinity, limit(s), [...entries, ...planned(s)]);
      }
    });
  };
  /** The state at time τ (hours) from its values at slot boundaries, linear within a slot. */
  const interpolate = (state: (k: number) => Affine, tau: number): Affine => {
    const x = Math.min(tau / dt, T);
    const k0 = Math.min(Math.floor(x + 1e-9), T);
    const f = x - k0;
    if (f <= 1e-9) return state(k0);
    const lo = state(k0);
    const hi = state(k0 + 1);
    return {
      entries: [
        ...lo.entries.map(([c, v]): [number, number] => [c, v * (1 - f)]),
        ...hi.entries.map(([c, v]): [number, number] => [c, v * f]),
      ],
      constant: lo.constant * (1 - f) + hi.constant * f,
    };
  };
  /** Points in time worth checking for an activation from slot t: boundaries and breakpoints. */
  const instants = (t: number, hs: Held[], extra: (h: number) => number[]) => {
    const s0 = t * dt;
    const maxH = Math.max(...hs.map((x) => x.h));
    const end = Math.min((t + 1) * dt + maxH, T * dt);
    const points = new Set<number>();
    for (let k = t; k <= T && k * dt <= end + 1e-9; k++) points.add(k * dt);
    for (const x of hs)
      for (const e of extra(x.h)) if (e > s0 && e <= T * dt + 1e-9) points.add(Math.min(e, T * dt));
    if ((t + 1) * dt + maxH <= T * dt + 1e-9) points.add((t + 1) * dt + maxH);
    return [...points].sort((x, y) => x - y);
  };
  const row = (name: string, lower: number, upper: number, terms: Entries, state: Affine) => {
    const merged = new Map<number, number>();
    for (const [c, v] of [...state.entries, ...terms]) merged.set(c, (merged.get(c) ?? 0) + v);
    b.row(name, lower - state.constant, upper - state.constant, [...merged]);
  };

  for (const a of p.assets) {
    const cols = layout.assets.get(a.id)!;
    if (a.type === 'battery' && cols.type === 'battery') {
      powerRows(
        a.id,
        'up',
        (s) => [...at(cols.discharge, s, 1), ...at(cols.charge, s, -1)],
        () => a.maxDischargeKw,
      );
      powerRows(
        a.id,
        'down',
        (s) => [...at(cols.charge, s, 1), ...at(cols.discharge, s, -1)],
        () => a.maxChargeKw,
      );
      const state = (k: number): Affine =>
        k === 0 ? { entries: [], constant: a.initialKwh } : { entries: [[cols.soc[k - 1]!, 1]], constant: 0 };
      // One kW held for h hours moves at most h/ηd kWh either way (more discharge costs 1/ηd,
      // less charging ηc; less discharge keeps 1/ηd, more charging adds ηc).
      for (const dir of ['up', 'down'] as const) {
        const list = held.get(`${dir}:${a.id}`);
        list?.forEach((hs, t) => {
          if (hs.length === 0) return;
          const s0 = t * dt;
          for (const tau of instants(t, hs, (h) => [s0 + h])) {
            if (tau <= s0 + 1e-9) continue;
            // Worst start for τ is the slot's start (or τ − the longest sustain): kWh moved by τ.
            const terms: Entries = hs.map((x) => [x.col, Math.min(tau - s0, x.h) / a.dischargeEfficiency]);
            const e = interpolate(state, tau);
            if (dir === 'up')
              row(
                `reserve[${a.id}].up.energy[${t}]`,
                a.minSocKwh,
                Infinity,
                terms.map(([c, v]) => [c, -v]),
                e,
              );
            else row(`reserve[${a.id}].down.energy[${t}]`, -Infinity, a.capacityKwh, terms, e);
          }
        });
      }
    } else if (a.type === 'thermal' && cols.type === 'thermal') {
      powerRows(
        a.id,
        'up',
        (s) => at(cols.power, s, -1),
        () => 0,
      );
      powerRows(
        a.id,
        'down',
        (s) => at(cols.power, s, 1),
        () => a.maxKw,
      );
      const state = (k: number): Affine =>
        k === 0 ? { entries: [], constant: a.initialC } : { entries: [[cols.temp[k - 1]!, 1]], constant: 0 };
      const band = (tau: number, key: 'minC' | 'maxC') => {
        const x = tau / dt;
        const pick = key === 'minC' ? Math.max : Math.min;
        return pick(
          valueAt(a[key], Math.min(Math.floor(x + 1e-9), T - 1)),
          valueAt(a[key], Math.min(Math.ceil(x - 1e-9), T - 1)),
        );
      };
      // Holding ΔP for h hours moves the zone by at most cop·ΔP·h/C (market/thermal.ts), within
      // the activation's window.
      for (const dir of ['up', 'down'] as const) {
        const list = held.get(`${dir}:${a.id}`);
        list?.forEach((hs, t) => {
          if (hs.length === 0) return;
          const e0 = (t + 1) * dt;
          for (const tau of instants(t, hs, (h) => [e0 + h])) {
            const terms: Entries = hs
              .filter((x) => tau <= e0 + x.h + 1e-9)
              .map((x) => [x.col, (a.cop * x.h) / a.capacitanceKwhPerK]);
            if (terms.length === 0) continue;
            const th = interpolate(state, tau);
            if (dir === 'up')
              row(
                `reserve[${a.id}].up.comfort[${t}]`,
                band(tau, 'minC'),
                Infinity,
                terms.map(([c, v]) => [c, -v]),
                th,
              );
            else row(`reserve[${a.id}].down.comfort[${t}]`, -Infinity, band(tau, 'maxC'), terms, th);
          }
        });
      }
    } else if (a.type === 'sheddable' && cols.type === 'sheddable') {
      powerRows(
        a.id,
        'up',
        (s) => at(cols.shed, s, 1),
        (s) => a.maxShedFraction * valueAt(a.baselineKw, s),
      );
      powerRows(
        a.id,
        'down',
        (s) => at(cols.shed, s, -1),
        () => 0,
      );
    }
  }
  powerRows(
    'pv',
    'down',
    (s) => at(layout.pvUsed, s, -1),
    () => 0,
  );

  // The grid connection must take an activation on top of the plan in every slot it reaches.
  for (const dir of ['up', 'down'] as const) {
    const worst = Array(T).fill(0);
    for (let t = 0; t < T; t++) {
      const last = Math.max(t, ...reservations.map((r) => reach(r, t)));
      for (let s = t; s <= last; s++) {
        const total = reservations.reduce((sum, r) => sum + (s <= reach(r, t) ? need(r, dir, t) : 0), 0);
        worst[s] = Math.max(worst[s], total);
      }
    }
    for (let s = 0; s < T; s++) {
      if (worst[s] <= 0) continue;
      // Up: less import or more export; down: more import or less export.
      const limit = valueAt(dir === 'up' ? p.grid.exportLimitKw : p.grid.importLimitKw, s, Infinity);
      if (!Number.isFinite(limit)) continue;
      const sign = dir === 'up' ? -1 : 1;
      b.row(`reserve.grid.${dir === 'up' ? 'export' : 'import'}[${s}]`, -Infinity, limit - worst[s], [
        [layout.import[s]!, sign],
        [layout.export[s]!, -sign],
      ]);
    }
  }
}
