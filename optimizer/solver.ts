import type { LpModel } from './lp.js';

export type SolveStatus = 'optimal' | 'infeasible' | 'time_limit' | 'error';
export type SolverName = 'highs' | 'jsl';

export interface SolveOptions {
  /** Wall-clock limit in seconds (HiGHS only; jsl refuses models too big instead). */
  timeLimitS?: number;
  /** HiGHS LP algorithm; `choose` lets HiGHS pick. */
  algorithm?: 'choose' | 'simplex' | 'ipm';
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
