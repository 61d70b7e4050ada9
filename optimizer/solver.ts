import type { LpModel } from './lp.js';

export type SolveStatus = 'optimal' | 'infeasible' | 'time_limit' | 'error';
export type SolverName = 'highs' | 'jsl';

export interface SolveOptions {
  /** Wall-clock limit in seconds (HiGHS only; jsl refuses models too big instead). */
  timeLimitS?: number;
  /**
   * HiGHS LP algorithm. `auto` (the default): dual simplex below `IPM_MIN_COLUMNS` columns,
   * interior point from there (the switch-over measured in bench/optimizer.ts, README
   * "Measured"); `choose` lets HiGHS pick (it picks simplex for these LPs).
   */
  algorithm?: 'auto' | 'choose' | 'simplex' | 'ipm';
}

/**
 * Size (columns) from which interior point beats simplex on the site LP: simplex wins at
 * 100 assets (13k columns) and interior point at 1,000 (129k); 300 assets (39k) is about even.
 */
export const IPM_MIN_COLUMNS = 40_000;

/** The HiGHS algorithm `auto` stands for at this size. */
export function algorithmFor(
  numCols: number,
  algorithm: SolveOptions['algorithm'] = 'auto',
): 'choose' | 'simplex' | 'ipm' {
  if (algorithm !== 'auto') return algorithm;
  return numCols >= IPM_MIN_COLUMNS ? 'ipm' : 'simplex';
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
}

/** A linear-programming solver behind the interface every caller uses. */
export interface LpSolver {
  readonly name: SolverName;
  solve(lp: LpModel, options?: SolveOptions): Promise<LpSolution>;
}
