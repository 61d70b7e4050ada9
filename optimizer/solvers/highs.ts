import highsModule, { type Highs } from 'highs';
import { type LpModel, objectiveOf } from '../lp.js';
import {
  algorithmFor,
  type LpSolution,
  type LpSolver,
  presolveFor,
  type SolveOptions,
  type SolveStatus,
} from '../solver.js';

type Loader = () => Promise<Highs>;
// The package's types describe a CommonJS default export; under ESM the loader is the default.
const loadHighs: Loader =
  (highsModule as unknown as { default?: Loader }).default ?? (highsModule as unknown as Loader);

let runtime: Promise<Highs> | undefined;

/** The HiGHS WebAssembly runtime, loaded once per thread. */
export function highsRuntime(): Promise<Highs> {
  runtime ??= loadHighs();
  return runtime;
}

function statusOf(h: Highs, code: number): SolveStatus {
  const s = h.constants.modelStatus;
  if (code === s.optimal) return 'optimal';
  // Presolve may not tell infeasible from unbounded; the problem schema rules out unbounded
  // sites (no arbitrage without a grid limit), so the diagnosis treats it as infeasible.
  if (code === s.infeasible || code === s.unboundedOrInfeasible) return 'infeasible';
  if (code === s.timeLimit || code === s.iterationLimit || code === s.interrupted) return 'time_limit';
  return 'error';
}

function modelData(lp: LpModel) {
  return {
    numCols: lp.numCols,
    numRows: lp.numRows,
    colCost: lp.colCost,
    colLower: lp.colLower,
    colUpper: lp.colUpper,
    rowLower: lp.rowLower,
    rowUpper: lp.rowUpper,
    offset: lp.offset,
    matrix: {
      format: 'csr' as const,
      numRows: lp.numRows,
      numCols: lp.numCols,
      starts: lp.starts,
      indices: lp.indices,
      values: lp.values,
    },
  };
}

type HighsModel = ReturnType<Highs['createModel']>;

/** The options last set on each model, so an unchanged set is not passed again (it costs a call into WebAssembly per option). */
const lastOptions = new WeakMap<HighsModel, string>();

function runModel(
  h: Highs,
  model: HighsModel,
  lp: LpModel,
  options: SolveOptions,
  started: number,
): LpSolution {
  const wanted = {
    output_flag: false,
    solver: algorithmFor(lp.numCols, options.algorithm),
    presolve: presolveFor(lp.numCols, options.presolve),
    // HiGHS refuses infinite option values; a huge finite limit means none.
    time_limit: options.timeLimitS ?? 1e30,
  };
  const key = JSON.stringify(wanted);
  if (lastOptions.get(model) !== key) {
    model.options.set(wanted);
    lastOptions.set(model, key);
  }
  model.zeroAllClocks();
  const run = model.run();
  const status = statusOf(h, run.modelStatus);
  const solveMs = performance.now() - started;
  if (status !== 'optimal') {
    const name = Object.entries(h.constants.modelStatus).find(([, v]) => v === run.modelStatus)?.[0];
    return { status, solveMs, message: `HiGHS ended with model status ${name ?? run.modelStatus}` };
  }
  const sol = model.getSolution();
  return { status, x: sol.colValue, rowDual: sol.rowDual, objective: objectiveOf(lp, sol.colValue), solveMs };
}

const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * One persistent HiGHS model per site. When a re-plan has the same structure (same columns,
 * rows and matrix; only prices, bounds, forecasts or initial state differ) only the costs
 * and bounds are changed and HiGHS starts from the previous optimal basis (a warm start);
 * otherwise the model is replaced. Call `dispose()` when the site goes away.
 */
export class PersistentHighs implements LpSolver {
  readonly name = 'highs' as const;
  private model: HighsModel | null = null;
  private last: LpModel | null = null;
  /** Whether the last solve reused the previous model (for tests and the bench). */
  warm = false;

  async solve(lp: LpModel, options: SolveOptions = {}): Promise<LpSolution> {
    const h = await highsRuntime();
    const started = performance.now();
    const last = this.last;
    this.warm =
      this.model !== null &&
      last !== null &&
      last.numCols === lp.numCols &&
      last.numRows === lp.numRows &&
      sameArray(last.starts, lp.starts) &&
      sameArray(last.indices, lp.indices) &&
      sameArray(last.values, lp.values);
    if (this.warm && this.model) {
      const cols = { kind: 'range' as const, from: 0, to: lp.numCols - 1 };
      this.model.changeColsCost(cols, lp.colCost);
      this.model.changeColsBounds(cols, lp.colLower, lp.colUpper);
      if (lp.numRows > 0)
        this.model.changeRowsBounds({ kind: 'range', from: 0, to: lp.numRows - 1 }, lp.rowLower, lp.rowUpper);
    } else {
      this.model?.dispose();
      this.model = h.createModel(modelData(lp));
    }
    this.last = lp;
    const algorithm = this.warm && (options.algorithm ?? 'auto') === 'auto' ? 'simplex' : options.algorithm;
    return runModel(h, this.model, lp, { ...options, algorithm }, started);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
    this.last = null;
  }
}

/**
 * HiGHS through its sparse-matrix API: the CSR arrays go into WebAssembly memory as they are,
 * with no LP text to write or parse. One model per solve, disposed afterwards.
 */
export const highsSolver: LpSolver = {
  name: 'highs',
  async solve(lp: LpModel, options: SolveOptions = {}): Promise<LpSolution> {
    const h = await highsRuntime();
    const started = performance.now();
    if (lp.numCols < REUSE_MAX_COLUMNS) {
      // One model per thread for small LPs: passModel replaces the LP and HiGHS' solver state
      // (no basis carries over), and skips creating and freeing a HiGHS instance per solve.
      small ??= h.createModel();
      small.passModel(modelData(lp));
      return runModel(h, small, lp, options, started);
    }
    const model = h.createModel(modelData(lp));
    try {
      return runModel(h, model, lp, options, started);
    } finally {
      model.dispose();
    }
  },
};

/**
 * Below this many columns a one-shot solve reuses this thread's HiGHS instance: 0.58× the CPU
 * per solve of a fresh instance on 5-asset sites (940 columns), same optima. Larger models get
 * their own instance, freed afterwards, so a big LP is not kept in WebAssembly memory.
 */
export const REUSE_MAX_COLUMNS = 30_000;
let small: HighsModel | undefined;
