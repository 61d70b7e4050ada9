import type { ColumnKeys, LpModel } from './lp.js';
import {
  decisionBlocks,
  horizon,
  longestShedSlots,
  type Problem,
  peakPeriods,
  slotHours,
  valueAt,
  window,
} from './problem.js';

/** Column indices of each asset's variables, by slot (null: the variable does not exist). */
export type AssetColumns =
  | {
      type: 'battery';
      charge: number[];
      discharge: number[];
      /**
       * soc[t]: the energy at the end of slot t; null inside a coarse block (multi-resolution),
       * where it is linear between the block's ends.
       */
      soc: (number | null)[];
    }
  | { type: 'shiftable' | 'ev'; power: (number | null)[] }
  | { type: 'sheddable'; shed: number[] }
  | { type: 'thermal'; power: number[]; temp: number[] };

/**
 * Per direction and asset id: the reserve column of each slot (null where none is held). Up
 * comes from batteries, heat pumps and sheddable loads, down from batteries and heat pumps.
 */
export interface ReserveColumns {
  up: Map<string, (number | null)[]>;
  down: Map<string, (number | null)[]>;
}

export interface Layout {
  T: number;
  dtH: number;
  import: number[];
  export: number[];
  pvUsed: number[];
  /** One peak column per demand-charge period (README "Peak charges"). */
  peaks: number[];
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

class F64 {
  a = new Float64Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): Float64Array {
    return this.a.slice(0, this.n);
  }
}

class I32 {
  a = new Int32Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

type Entries = [number, number][];

/**
 * Builds the LpModel straight into typed arrays. Columns and rows are identified by index; a
 * name is a family (`battery[b1].soc`) and an optional slot, and the strings
 * (`battery[b1].soc[12]`) are made only when someone reads `colNames`/`rowNames` (diagnosis,
 * explanation, anchors). The profile at 100 assets × 96 slots was dominated by per-cell name
 * strings, [column, value] tuples and the garbage they left.
 */
class ModelBuilder {
  private readonly families: string[] = [];
  private readonly familyIds = new Map<string, number>();
  private readonly colCost = new F64();
  private readonly colLower = new F64();
  private readonly colUpper = new F64();
  private readonly colFamily = new I32();
  private readonly colSlot = new I32();
  private readonly rowLower = new F64();
  private readonly rowUpper = new F64();
  private readonly rowFamily = new I32();
  private readonly rowSlot = new I32();
  private readonly starts = new I32();
  private readonly indices = new I32();
  private readonly values = new F64();
  /** The objective's constant term. */
  offset = 0;

  constructor() {
    this.starts.push(0);
  }

  get numCols(): number {
    return this.colCost.n;
  }

  /** The id of a name family (interned). */
  family(name: string): number {
    let id = this.familyIds.get(name);
    if (id === undefined) {
      id = this.families.length;
      this.families.push(name);
      this.familyIds.set(name, id);
    }
    return id;
  }

  /** Adds a column named family[slot] (no index when slot < 0); returns its index. */
  col(family: number, slot: number, lower: number, upper: number, cost: number): number {
    this.colCost.push(cost);
    this.colLower.push(lower);
    this.colUpper.push(upper);
    this.colFamily.push(family);
    this.colSlot.push(slot);
    return this.colCost.n - 1;
  }

  /** Adds an entry to the row being written; zeros are left out. */
  add(col: number, coef: number): void {
    if (coef === 0) return;
    this.indices.push(col);
    this.values.push(coef);
  }

  /** Closes the row being written as lower ≤ Σ coef·x ≤ upper; returns its index. */
  end(family: number, slot: number, lower: number, upper: number): number {
    this.starts.push(this.indices.n);
    this.rowLower.push(lower);
    this.rowUpper.push(upper);
    this.rowFamily.push(family);
    this.rowSlot.push(slot);
    return this.rowLower.n - 1;
  }

  /** A whole row from entries naming distinct columns. */
  row(family: number, slot: number, lower: number, upper: number, entries: Entries): number {
    for (const [c, v] of entries) this.add(c, v);
    return this.end(family, slot, lower, upper);
  }

  colName(j: number): string {
    return nameOf(this.families, this.colFamily.a[j]!, this.colSlot.a[j]!);
  }

  finish(): LpModel {
    const families = this.families;
    const names = (family: Int32Array, slot: Int32Array) => {
      let cache: string[] | undefined;
      return () => {
        cache ??= Array.from(family, (f, j) => nameOf(families, f, slot[j]!));
        return cache;
      };
    };
    const model = {
      numCols: this.colCost.n,
      numRows: this.rowLower.n,
      offset: this.offset,
      colCost: this.colCost.done(),
      colLower: this.colLower.done(),
      colUpper: this.colUpper.done(),
      rowLower: this.rowLower.done(),
      rowUpper: this.rowUpper.done(),
      starts: this.starts.done(),
      indices: this.indices.done(),
      values: this.values.done(),
    };
    // Made on first read and not enumerable, so a model posted to a solver thread carries no
    // names (the solvers do not use them). `colKeys` lets explain() group columns by family
    // without making a string per column.
    const colFamily = this.colFamily.done();
    const colSlot = this.colSlot.done();
    const colKeys: ColumnKeys = { families, family: colFamily, slot: colSlot };
    Object.defineProperties(model, {
      colNames: { get: names(colFamily, colSlot) },
      rowNames: { get: names(this.rowFamily.done(), this.rowSlot.done()) },
      colKeys: { value: colKeys },
    });
    return model as LpModel;
  }
}

function nameOf(families: readonly string[], family: number, slot: number): string {
  return slot < 0 ? families[family]! : `${families[family]}[${slot}]`;
}

/**
 * The site's LP, exactly the model of README.md: costs in currency, powers in kW, energies in
 * kWh. Pure: the same problem always gives the same model, columns and rows in the same order.
 */
export function buildLp(p: Problem, options: BuildOptions = {}): { lp: LpModel; layout: Layout } {
  const T = horizon(p);
  const dt = slotHours(p);
  const b = new ModelBuilder();
  const elastic = options.elastic === true;
  const cost = (c: number) => (elastic ? 0 : c);
  const perSlot = (family: string, make: (f: number, t: number) => number) => {
    const f = b.family(family);
    const cols: number[] = new Array(T);
    for (let t = 0; t < T; t++) cols[t] = make(f, t);
    return cols;
  };

  const layout: Layout = {
    T,
    dtH: dt,
    import: perSlot('grid.import', (f, t) =>
      b.col(f, t, 0, valueAt(p.grid.importLimitKw, t, Infinity), cost(p.prices.import[t]! * dt)),
    ),
    export: perSlot('grid.export', (f, t) =>
      b.col(f, t, 0, valueAt(p.grid.exportLimitKw, t, Infinity), cost(-p.prices.export[t]! * dt)),
    ),
    pvUsed: perSlot('pv.used', (f, t) => b.col(f, t, 0, p.pvKw[t]!, 0)),
    peaks: [],
    balanceRows: [],
    shortfall: elastic ? perSlot('slack.shortfall', (f, t) => b.col(f, t, 0, Infinity, dt)) : [],
    surplus: elastic ? perSlot('slack.surplus', (f, t) => b.col(f, t, 0, Infinity, dt)) : [],
    assets: new Map(),
    reserves: new Map(),
  };
  // Decision columns are shared by the slots of a block (one block per slot by default).
  const blocks = decisionBlocks(p);
  /** One column per block over [from, to), repeated per slot; null outside. */
  const perBlock = (
    family: string,
    from: number,
    to: number,
    make: (f: number, start: number, len: number) => number,
  ) => {
    const f = b.family(family);
    const cols: (number | null)[] = new Array(T).fill(null);
    for (const [b0, b1] of blocks) {
      const start = Math.max(b0, from);
      const end = Math.min(b1, to);
      if (start >= end) continue;
      const c = make(f, start, end - start);
      for (let t = start; t < end; t++) cols[t] = c;
    }
    return cols;
  };
  const everySlot = (family: string, make: (f: number, start: number, len: number) => number) =>
    perBlock(family, 0, T, make) as number[];

  // The balance rows are written last; their entries (supply positive) are collected as
  // (slot, column, coefficient) in creation order, and the right-hand side is the demand.
  const balSlot = new I32();
  const balCol = new I32();
  const balCoef = new F64();
  const supply = (t: number, c: number, v: number) => {
    balSlot.push(t);
    balCol.push(c);
    balCoef.push(v);
  };
  for (let t = 0; t < T; t++) {
    supply(t, layout.import[t]!, 1);
    supply(t, layout.export[t]!, -1);
    supply(t, layout.pvUsed[t]!, 1);
    if (elastic) {
      supply(t, layout.shortfall[t]!, 1);
      supply(t, layout.surplus[t]!, -1);
    }
  }
  const demand = Float64Array.from(p.baseLoadKw.slice(0, T));

  for (const a of p.assets) {
    const tag = `${a.type}[${a.id}]`;
    switch (a.type) {
      case 'battery': {
        const wear = (len: number) => cost(a.wearCostPerKwh * dt * len);
        const charge = everySlot(`${tag}.charge`, (f, t, n) => b.col(f, t, 0, a.maxChargeKw, wear(n)));
        const discharge = everySlot(`${tag}.discharge`, (f, t, n) =>
          b.col(f, t, 0, a.maxDischargeKw, wear(n)),
        );
        const finalMin = Math.max(a.minSocKwh, a.finalMinKwh ?? 0);
        // soc[t] is the energy at the start of slot t + 1 (soc[−1] = initialKwh). Only at the
        // end of each decision block: within a block the energy is linear, so its bounds at
        // the block's ends hold inside it too (one block per slot by default).
        const socFamily = b.family(`${tag}.soc`);
        const soc: (number | null)[] = new Array(T).fill(null);
        // Terminal value: each kWh stored at the end delivers dischargeEfficiency kWh later,
        // credited against the energy at the start (a constant), so an idle battery gets 0.
        const worth = cost(p.terminalPricePerKwh * a.dischargeEfficiency);
        b.offset += worth * a.initialKwh;
        for (const [, b1] of blocks)
          soc[b1 - 1] = b.col(
            socFamily,
            b1,
            b1 === T ? finalMin : a.minSocKwh,
            a.capacityKwh,
            b1 === T ? -worth : 0,
          );
        const energy = b.family(`${tag}.energy`);
        const gain = -a.chargeEfficiency * dt;
        const drain = dt / a.dischargeEfficiency;
        for (const [b0, b1] of blocks) {
          const n = b1 - b0;
          b.add(soc[b1 - 1]!, 1);
          b.add(charge[b0]!, gain * n);
          b.add(discharge[b0]!, drain * n);
          if (b0 > 0) b.add(soc[b0 - 1]!, -1);
          const rhs = b0 === 0 ? a.initialKwh : 0;
          b.end(energy, b1, rhs, rhs);
        }
        for (let t = 0; t < T; t++) {
          supply(t, discharge[t]!, 1);
          supply(t, charge[t]!, -1);
        }
        layout.assets.set(a.id, { type: 'battery', charge, discharge, soc });
        break;
      }
      case 'shiftable':
      case 'ev': {
        const [start, end] = window(a, T);
        const power = perBlock(`${tag}.power`, start, end, (f, t) => b.col(f, t, 0, a.maxKw, 0));
        // A block's column carries dt per slot it covers.
        let last = -1;
        let hours = 0;
        for (let t = 0; t < T; t++) {
          const c = power[t];
          if (c === null || c === undefined) continue;
          if (c !== last) {
            if (last >= 0) b.add(last, hours);
            last = c;
            hours = 0;
          }
          hours += dt;
          supply(t, c, -1);
        }
        if (last >= 0) b.add(last, hours);
        b.end(b.family(`${tag}.energy`), -1, a.energyKwh, a.energyKwh);
        layout.assets.set(a.id, { type: a.type, power });
        break;
      }
      case 'sheddable': {
        const shed = everySlot(`${tag}.shed`, (f, t0, n) => {
          // Held for the block, so bounded by the smallest baseline in it.
          let least = Infinity;
          for (let t = t0; t < t0 + n; t++) least = Math.min(least, valueAt(a.baselineKw, t));
          return b.col(f, t0, 0, a.maxShedFraction * least, cost(a.costPerKwh * dt * n));
        });
        for (let t = 0; t < T; t++) {
          demand[t]! += valueAt(a.baselineKw, t);
          supply(t, shed[t]!, 1);
        }
        // Longest shed: every window of L + 1 slots sheds at most L slots' worth (checked in check.ts).
        const L = longestShedSlots(a, p);
        if (L < T && a.maxShedFraction > 0) {
          const f = b.family(`${tag}.longest_shed`);
          for (let t0 = 0; t0 + L < T; t0++) {
            const coef = new Map<number, number>();
            let least = Infinity;
            for (let t = t0; t <= t0 + L; t++) {
              coef.set(shed[t]!, (coef.get(shed[t]!) ?? 0) + 1);
              least = Math.min(least, valueAt(a.baselineKw, t));
            }
            b.row(f, t0, -Infinity, L * a.maxShedFraction * least, [...coef]);
          }
        }
        layout.assets.set(a.id, { type: 'sheddable', shed });
        break;
      }
      case 'thermal': {
        const loss = dt / (a.capacitanceKwhPerK * a.resistanceKPerKw);
        const gain = (dt * a.cop) / a.capacitanceKwhPerK;
        const power = everySlot(`${tag}.power`, (f, t) => b.col(f, t, 0, a.maxKw, 0));
        // temp[t] is the zone temperature at the start of slot t (t = 1..T), held in the
        // comfort band of slot min(t, T-1).
        // Terminal value: a kelvin warmer at the end saves capacitance / cop kWh of electricity.
        const worth = cost((p.terminalPricePerKwh * a.capacitanceKwhPerK) / a.cop);
        b.offset += worth * a.initialC;
        const temp = perSlot(`${tag}.temp`, (f, t) => {
          const band = Math.min(t + 1, T - 1);
          return b.col(f, t + 1, valueAt(a.minC, band), valueAt(a.maxC, band), t === T - 1 ? -worth : 0);
        });
        const row = b.family(`${tag}.temp`);
        for (let t = 0; t < T; t++) {
          b.add(temp[t]!, 1);
          b.add(power[t]!, -gain);
          let rhs = loss * valueAt(a.outdoorC, t);
          if (t > 0) b.add(temp[t - 1]!, -(1 - loss));
          else rhs += (1 - loss) * a.initialC;
          b.end(row, t + 1, rhs, rhs);
          supply(t, power[t]!, -1);
        }
        layout.assets.set(a.id, { type: 'thermal', power, temp });
        break;
      }
    }
  }

  if (!elastic) {
    // peak ≥ import in every slot of the period and ≥ the period's peak so far (its lower
    // bound): the period's peak is then max(soFar, max import), at chargePerKw per kW.
    const periods = peakPeriods(p);
    const f = b.family('grid.peak');
    periods.forEach((m, k) => {
      const peak = b.col(f, periods.length > 1 ? k : -1, m.soFarKw, Infinity, m.chargePerKw);
      layout.peaks.push(peak);
      for (let t = m.fromSlot; t < m.toSlot; t++) {
        b.add(layout.import[t]!, 1);
        b.add(peak, -1);
        b.end(f, t, -Infinity, 0);
      }
    });
  }

  if (p.reservations?.length && !elastic) addReserves(p, b, layout);

  if (options.anchor && !elastic) {
    const { targets, penaltyPerKwh } = options.anchor;
    const byName = new Map<string, number>();
    for (let j = 0; j < b.numCols; j++) byName.set(b.colName(j), j);
    const dev = b.family('anchor.dev');
    const above = b.family('anchor.above');
    const below = b.family('anchor.below');
    for (const [name, target] of targets) {
      const j = byName.get(name);
      if (j === undefined) continue;
      const d = b.col(dev, j, 0, Infinity, penaltyPerKwh * dt);
      b.add(j, 1);
      b.add(d, -1);
      b.end(above, j, -Infinity, target);
      b.add(j, 1);
      b.add(d, 1);
      b.end(below, j, target, Infinity);
    }
  }

  // Counting sort of the balance entries by slot, keeping their order within a slot.
  const first = new Int32Array(T + 1);
  for (let k = 0; k < balSlot.n; k++) first[balSlot.a[k]! + 1]!++;
  for (let t = 0; t < T; t++) first[t + 1]! += first[t]!;
  const order = new Int32Array(balSlot.n);
  const next = first.slice(0, T);
  for (let k = 0; k < balSlot.n; k++) order[next[balSlot.a[k]!]!++] = k;
  const balanceFamily = b.family('balance');
  for (let t = 0; t < T; t++) {
    for (let k = first[t]!; k < first[t + 1]!; k++) b.add(balCol.a[order[k]!]!, balCoef.a[order[k]!]!);
    layout.balanceRows.push(b.end(balanceFamily, t, demand[t]!, demand[t]!));
  }

  return { lp: b.finish(), layout };
}

type Dir = 'up' | 'down';
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
function addReserves(p: Problem, b: ModelBuilder, layout: Layout): void {
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
  // The assets the market's HeadroomPlan describes (market/availability.ts); a sheddable load
  // offers up only.
  const providers = (dir: Dir) =>
    p.assets.filter(
      (a) => a.type === 'battery' || a.type === 'thermal' || (a.type === 'sheddable' && dir === 'up'),
    );

  for (const r of reservations) {
    const cols: ReserveColumns = { up: new Map(), down: new Map() };
    layout.reserves.set(r.id, cols);
    for (const dir of ['up', 'down'] as const) {
      for (const a of providers(dir)) (dir === 'up' ? cols.up : cols.down).set(a.id, Array(T).fill(null));
      for (let t = 0; t < T; t++) {
        const kw = need(r, dir, t);
        if (kw <= 0) continue;
        const entries: Entries = [];
        const add = (key: string, list: (number | null)[]) => {
          const c = b.col(b.family(`reserve[${r.id}].${dir}[${key}]`), t, 0, Infinity, 0);
          list[t] = c;
          entries.push([c, 1]);
          holdersOf(key, dir)[t]!.push({ col: c, h: hours(r), reach: reach(r, t) });
        };
        for (const a of providers(dir)) add(a.id, (dir === 'up' ? cols.up : cols.down).get(a.id)!);
        b.row(b.family(`reserve[${r.id}].${dir}`), t, kw, Infinity, entries);
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
        b.row(b.family(`reserve[${key}].${dir}.power`), t, -Infinity, limit(s), [...entries, ...planned(s)]);
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
  const row = (family: string, slot: number, lower: number, upper: number, terms: Entries, state: Affine) => {
    const merged = new Map<number, number>();
    for (const [c, v] of [...state.entries, ...terms]) merged.set(c, (merged.get(c) ?? 0) + v);
    b.row(b.family(family), slot, lower - state.constant, upper - state.constant, [...merged]);
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
      const known = (k: number): Affine =>
        k === 0 ? { entries: [], constant: a.initialKwh } : { entries: [[cols.soc[k - 1]!, 1]], constant: 0 };
      // Inside a coarse block the energy is linear between the block's ends.
      const state = (k: number): Affine => {
        if (k === 0 || cols.soc[k - 1] !== null) return known(k);
        let k0 = k - 1;
        while (k0 > 0 && cols.soc[k0 - 1] === null) k0--;
        let k1 = k + 1;
        while (cols.soc[k1 - 1] === null) k1++;
        const f = (k - k0) / (k1 - k0);
        const lo = known(k0);
        const hi = known(k1);
        return {
          entries: [
            ...lo.entries.map(([c, v]): [number, number] => [c, v * (1 - f)]),
            ...hi.entries.map(([c, v]): [number, number] => [c, v * f]),
          ],
          constant: lo.constant * (1 - f),
        };
      };
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
                `reserve[${a.id}].up.energy`,
                t,
                a.minSocKwh,
                Infinity,
                terms.map(([c, v]) => [c, -v]),
                e,
              );
            else row(`reserve[${a.id}].down.energy`, t, -Infinity, a.capacityKwh, terms, e);
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
                `reserve[${a.id}].up.comfort`,
                t,
                band(tau, 'minC'),
                Infinity,
                terms.map(([c, v]) => [c, -v]),
                th,
              );
            else row(`reserve[${a.id}].down.comfort`, t, -Infinity, band(tau, 'maxC'), terms, th);
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
    }
  }

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
      b.row(b.family(`reserve.grid.${dir === 'up' ? 'export' : 'import'}`), s, -Infinity, limit - worst[s], [
        [layout.import[s]!, sign],
        [layout.export[s]!, -sign],
      ]);
    }
  }
}
