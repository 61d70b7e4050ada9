import type { LpModel } from './lp.js';

export type SolveStatus = 'optimal' | 'infeasible' | 'time_limit' | 'error';
/**
 * `highs`: HiGHS in WebAssembly, always available (the default); `jsl`: javascript-lp-solver,
 * small problems; `cbc`: the native CBC/CLP executable as a child process when installed,
 * otherwise HiGHS; `auto`: HiGHS below `NATIVE_MIN_COLUMNS` columns, `cbc` from there.
 */
export type SolverName = 'highs' | 'jsl' | 'cbc' | 'auto';

export interface SolveOptions {
  /** Wall-clock limit in seconds (HiGHS only; jsl refuses models too big instead). */
  timeLimitS?: number;
  /**
   * HiGHS LP algorithm. `auto` (the default): dual simplex below `IPM_MIN_COLUMNS` columns,
   * interior point from there (the switch-over measured in bench/optimizer.ts, README
   * "Measured"); `choose` lets HiGHS pick (it picks simplex for these LPs).
   */
  algorithm?: 'auto' | 'choose' | 'simplex' | 'ipm';
  /**
   * HiGHS presolve: `on` (the default, HiGHS' own choice), `off`, or `auto`: off below
   * `PRESOLVE_MIN_COLUMNS` (what `planFleet` asks for). Opt-in because where a site has
   * several plans of the same cost, presolve on or off can pick a different one of them.
   */
  presolve?: 'on' | 'off' | 'auto';
  /**
   * Stops the solve where the solver can be stopped from outside (`cbc` kills its process);
   * the in-thread WebAssembly and JavaScript solvers block, so they run on a `SolveWorker`
   * for that. Never posted to a thread.
   */
  signal?: AbortSignal;
}

/**
 * Size (columns) from which interior point beats dual simplex on the site LP, measured with
 * bench/optimizer.ts (section 6, README "Measured"): simplex is 2.3–2.7× faster up to 200
 * assets (26k columns), even at 300 (39k), 1.7× faster at 500 (65k); interior point is
 * faster at 1,000 assets (129k columns, 0.75×). A warm re-plan always uses simplex (it starts
 * from the previous basis; interior point cannot).
 */
export const IPM_MIN_COLUMNS = 100_000;

/** The HiGHS algorithm `auto` stands for at this size. */
export function algorithmFor(
  numCols: number,
  algorithm: SolveOptions['algorithm'] = 'auto',
): 'choose' | 'simplex' | 'ipm' {
  if (algorithm !== 'auto') return algorithm;
  return numCols >= IPM_MIN_COLUMNS ? 'ipm' : 'simplex';
}

/**
 * Columns below which `presolve: 'auto'` runs HiGHS without presolve: on these site LPs
 * presolve costs more than it saves there. Measured (bench section 11, README "Measured"),
 * CPU per solve without / with presolve: 0.28 (1 asset, 577 columns), 0.66 (10), 0.83 (30),
 * 0.91 (100, 13k columns), 0.91 (200, 26k columns), same optima.
 */
export const PRESOLVE_MIN_COLUMNS = 30_000;

/** HiGHS' `presolve` option value for this size and request. */
export function presolveFor(numCols: number, presolve: SolveOptions['presolve'] = 'on'): 'off' | 'choose' {
  if (presolve === 'off') return 'off';
  return presolve === 'auto' && numCols < PRESOLVE_MIN_COLUMNS ? 'off' : 'choose';
}

export interface LpSolution {
  status: SolveStatus;
  /** Primal values by column; present when status is optimal. */
  x?: Float64Array;
  /** Row duals (∂objective/∂row bound), when the solver gives them. */
  rowDual?: Float64Array;
  /** offset + c·x, recomputed from x. */
  objective?: number;
  message?: string;
  solveMs: number;
  /** What actually solved, when a solver can hand over to another (`cbc` → `highs` when missing). */
  engine?: string;
}

/** A linear-programming solver behind the interface every caller uses. */
export interface LpSolver {
  readonly name: SolverName;
  solve(lp: LpModel, options?: SolveOptions): Promise<LpSolution>;
}
