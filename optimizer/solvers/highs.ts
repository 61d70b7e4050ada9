import highsModule, { type Highs } from 'highs';
import { type LpModel, objectiveOf } from '../lp.js';
import type { LpSolution, LpSolver, SolveOptions, SolveStatus } from '../solver.js';

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

/**
 * HiGHS through its sparse-matrix API: the CSR arrays go into WebAssembly memory as they are,
 * with no LP text to write or parse. One model per solve, disposed afterwards.
 */
export const highsSolver: LpSolver = {
  name: 'highs',
  async solve(lp: LpModel, options: SolveOptions = {}): Promise<LpSolution> {
    const h = await highsRuntime();
    const started = performance.now();
    const model = h.createModel({
      numCols: lp.numCols,
      numRows: lp.numRows,
      colCost: lp.colCost,
      colLower: lp.colLower,
      colUpper: lp.colUpper,
      rowLower: lp.rowLower,
      rowUpper: lp.rowUpper,
      offset: lp.offset,
      matrix: {
        format: 'csr',
        numRows: lp.numRows,
        numCols: lp.numCols,
        starts: lp.starts,
        indices: lp.indices,
        values: lp.values,
      },
    });
    try {
      model.options.set({ output_flag: false, solver: options.algorithm ?? 'choose' });
      if (options.timeLimitS !== undefined) model.options.set({ time_limit: options.timeLimitS });
      const run = model.run();
      const status = statusOf(h, run.modelStatus);
      const solveMs = performance.now() - started;
      if (status !== 'optimal') {
        const name = Object.entries(h.constants.modelStatus).find(([, v]) => v === run.modelStatus)?.[0];
        return { status, solveMs, message: `HiGHS ended with model status ${name ?? run.modelStatus}` };
      }
      const sol = model.getSolution();
      return {
        status,
        x: sol.colValue,
        rowDual: sol.rowDual,
        objective: objectiveOf(lp, sol.colValue),
        solveMs,
      };
    } finally {
      model.dispose();
    }
  },
};
