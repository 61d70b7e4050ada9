/**
 * A linear programme in the form every adapter understands:
 *   minimise offset + Σ colCost·x   subject to   rowLower ≤ A·x ≤ rowUpper,  colLower ≤ x ≤ colUpper
 * with A stored row-wise (CSR). Infinite bounds are ±Infinity. Names carry the constraint
 * family (`battery[b1].energy[12]`), so diagnostics and explanations can speak of them.
 */
export interface LpModel {
  numCols: number;
  numRows: number;
  offset: number;
  colNames: string[];
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowNames: string[];
  rowLower: Float64Array;
  rowUpper: Float64Array;
  /** CSR: row i has entries starts[i]..starts[i+1] of (indices = column, values). */
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Column j is named `families[family[j]]` followed by `[slot[j]]` when slot[j] ≥ 0 (buildLp's models; not posted to threads). */
  colKeys?: ColumnKeys;
}

export interface ColumnKeys {
  families: readonly string[];
  family: Int32Array;
  slot: Int32Array;
}

/** Grows an LpModel column by column and row by row; `finish()` packs it. */
export class LpBuilder {
  private readonly colNames: string[] = [];
  private readonly colCost: number[] = [];
  private readonly colLower: number[] = [];
  private readonly colUpper: number[] = [];
  private readonly rowNames: string[] = [];
  private readonly rowLower: number[] = [];
  private readonly rowUpper: number[] = [];
  private readonly starts: number[] = [0];
  private readonly indices: number[] = [];
  private readonly values: number[] = [];
  offset = 0;

  /** Adds a column; returns its index. */
  col(name: string, lower: number, upper: number, cost = 0): number {
    this.colNames.push(name);
    this.colLower.push(lower);
    this.colUpper.push(upper);
    this.colCost.push(cost);
    return this.colNames.length - 1;
  }

  columnNames(): readonly string[] {
    return this.colNames;
  }

  addCost(col: number, cost: number): void {
    this.colCost[col] = (this.colCost[col] ?? 0) + cost;
  }

  /** Adds a row lower ≤ Σ coef·x ≤ upper; entries must name distinct columns. */
  row(name: string, lower: number, upper: number, entries: readonly (readonly [number, number])[]): number {
    for (const [c, v] of entries) {
      if (v === 0) continue;
      this.indices.push(c);
      this.values.push(v);
    }
    this.starts.push(this.indices.length);
    this.rowNames.push(name);
    this.rowLower.push(lower);
    this.rowUpper.push(upper);
    return this.rowNames.length - 1;
  }

  finish(): LpModel {
    return {
      numCols: this.colNames.length,
      numRows: this.rowNames.length,
      offset: this.offset,
      colNames: this.colNames,
      colCost: Float64Array.from(this.colCost),
      colLower: Float64Array.from(this.colLower),
      colUpper: Float64Array.from(this.colUpper),
      rowNames: this.rowNames,
      rowLower: Float64Array.from(this.rowLower),
      rowUpper: Float64Array.from(this.rowUpper),
      starts: Int32Array.from(this.starts),
      indices: Int32Array.from(this.indices),
      values: Float64Array.from(this.values),
    };
  }
}

/** offset + c·x. */
export function objectiveOf(lp: LpModel, x: ArrayLike<number>): number {
  let z = lp.offset;
  for (let j = 0; j < lp.numCols; j++) z += (lp.colCost[j] ?? 0) * (x[j] ?? 0);
  return z;
}

/** A·x, row by row. */
export function rowActivity(lp: LpModel, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(lp.numRows);
  for (let i = 0; i < lp.numRows; i++) {
    let s = 0;
    for (let k = lp.starts[i]!; k < lp.starts[i + 1]!; k++) s += lp.values[k]! * (x[lp.indices[k]!] ?? 0);
    out[i] = s;
  }
  return out;
}

/** The family of a row or column name: `thermal[z1].temp[12]` → `thermal[z1].temp`. */
export function familyOf(name: string): string {
  return name.replace(/\[\d+\]$/, '');
}

/** The slot index at the end of a name, or null. */
export function slotOf(name: string): number | null {
  const m = /\[(\d+)\]$/.exec(name);
  return m ? Number(m[1]) : null;
}

const num = (v: number) => {
  if (!Number.isFinite(v)) return v > 0 ? '+inf' : '-inf';
  return String(v);
};

function term(coef: number, name: string, first: boolean): string {
  const sign = coef < 0 ? '-' : '+';
  const mag = Math.abs(coef);
  return `${first && sign === '+' ? '' : `${sign} `}${mag === 1 ? '' : `${num(mag)} `}${name}`;
}

/**
 * CPLEX LP text (as read by GLPK's `glpsol --lp` and HiGHS), with columns named x0… and rows
 * r0… so any id is safe. Ranged rows become two rows. The constant `offset` is not written:
 * add it to the solver's objective.
 */
export function toCplexLp(lp: LpModel): string {
  const out: string[] = ['\\ Gridflex LP', 'Minimize'];
  const obj: string[] = [];
  for (let j = 0; j < lp.numCols; j++) {
    const c = lp.colCost[j]!;
    if (c !== 0) obj.push(term(c, `x${j}`, obj.length === 0));
  }
  out.push(` obj: ${obj.length > 0 ? obj.join(' ') : '0 x0'}`);
  out.push('Subject To');
  for (let i = 0; i < lp.numRows; i++) {
    const parts: string[] = [];
    for (let k = lp.starts[i]!; k < lp.starts[i + 1]!; k++)
      parts.push(term(lp.values[k]!, `x${lp.indices[k]}`, parts.length === 0));
    if (parts.length === 0) parts.push('0 x0');
    const expr = parts.join(' ');
    const lo = lp.rowLower[i]!;
    const hi = lp.rowUpper[i]!;
    if (lo === hi) out.push(` r${i}: ${expr} = ${num(lo)}`);
    else {
      if (Number.isFinite(lo)) out.push(` r${i}${Number.isFinite(hi) ? 'l' : ''}: ${expr} >= ${num(lo)}`);
      if (Number.isFinite(hi)) out.push(` r${i}${Number.isFinite(lo) ? 'u' : ''}: ${expr} <= ${num(hi)}`);
    }
  }
  out.push('Bounds');
  for (let j = 0; j < lp.numCols; j++) {
    const lo = lp.colLower[j]!;
    const hi = lp.colUpper[j]!;
    if (lo === hi) out.push(` x${j} = ${num(lo)}`);
    else out.push(` ${num(lo)} <= x${j} <= ${num(hi)}`);
  }
  out.push('End', '');
  return out.join('\n');
}

/** A number as MPS/LP text; infinities become ±1e30, which CBC and GLPK read as infinite. */
const mpsNum = (v: number) => (Number.isFinite(v) ? String(v) : v > 0 ? '1e30' : '-1e30');

/**
 * Free-format MPS (as read by CBC/CLP, GLPK's `glpsol --freemps` and HiGHS), columns x0…, rows
 * r0… in the model's order. Unlike `toCplexLp`, a ranged row stays one row (RANGES), so a
 * solver's row duals map one to one onto the model's rows. The constant `offset` is not
 * written: add it to the solver's objective.
 */
export function toMps(lp: LpModel): string {
  const out: string[] = ['NAME gridflex', 'ROWS', ' N obj'];
  const rhs: string[] = [];
  const ranges: string[] = [];
  for (let i = 0; i < lp.numRows; i++) {
    const lo = lp.rowLower[i]!;
    const hi = lp.rowUpper[i]!;
    if (lo === hi) {
      out.push(` E r${i}`);
      if (lo !== 0) rhs.push(` rhs r${i} ${mpsNum(lo)}`);
    } else if (Number.isFinite(lo)) {
      out.push(` G r${i}`);
      if (lo !== 0) rhs.push(` rhs r${i} ${mpsNum(lo)}`);
      if (Number.isFinite(hi)) ranges.push(` rng r${i} ${mpsNum(hi - lo)}`);
    } else {
      // A free row is written as ≤ +∞ rather than a second N row, which readers drop (and
      // with it the one-to-one row numbering).
      out.push(` L r${i}`);
      rhs.push(` rhs r${i} ${mpsNum(hi)}`);
    }
  }
  // COLUMNS lists the matrix column by column: transpose the CSR rows.
  const count = new Int32Array(lp.numCols + 1);
  for (let k = 0; k < lp.indices.length; k++) count[lp.indices[k]! + 1]!++;
  for (let j = 0; j < lp.numCols; j++) count[j + 1]! += count[j]!;
  const colRow = new Int32Array(lp.indices.length);
  const colVal = new Float64Array(lp.indices.length);
  const fill = count.slice(0, lp.numCols);
  for (let i = 0; i < lp.numRows; i++)
    for (let k = lp.starts[i]!; k < lp.starts[i + 1]!; k++) {
      const at = fill[lp.indices[k]!]!++;
      colRow[at] = i;
      colVal[at] = lp.values[k]!;
    }
  out.push('COLUMNS');
  for (let j = 0; j < lp.numCols; j++) {
    const c = lp.colCost[j]!;
    // A column with no entry at all would be dropped by some readers: give it a zero cost.
    if (c !== 0 || count[j] === count[j + 1]) out.push(` x${j} obj ${mpsNum(c)}`);
    for (let k = count[j]!; k < count[j + 1]!; k++) out.push(` x${j} r${colRow[k]} ${mpsNum(colVal[k]!)}`);
  }
  out.push('RHS', ...rhs);
  if (ranges.length > 0) out.push('RANGES', ...ranges);
  out.push('BOUNDS');
  for (let j = 0; j < lp.numCols; j++) {
    const lo = lp.colLower[j]!;
    const hi = lp.colUpper[j]!;
    if (lo === hi) {
      out.push(` FX bnd x${j} ${mpsNum(lo)}`);
      continue;
    }
    if (lo === -Infinity && hi === Infinity) {
      out.push(` FR bnd x${j}`);
      continue;
    }
    if (lo === -Infinity) out.push(` MI bnd x${j}`);
    // Written even when 0 if the upper bound is negative: some readers then default the lower to −∞.
    else if (lo !== 0 || hi < 0) out.push(` LO bnd x${j} ${mpsNum(lo)}`);
    if (hi !== Infinity) out.push(` UP bnd x${j} ${mpsNum(hi)}`);
  }
  out.push('ENDATA', '');
  return out.join('\n');
}

/** The LP's typed arrays, in the order a solver thread borrows them and hands them back. */
export const LP_ARRAYS = [
  'colCost',
  'colLower',
  'colUpper',
  'rowLower',
  'rowUpper',
  'starts',
  'indices',
  'values',
] as const;
