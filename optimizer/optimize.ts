import { baselineSchedule } from './baseline.js';
import { type BuildOptions, buildLp } from './build.js';
import { type CostBreakdown, scheduleCost } from './check.js';
import { diagnoseInfeasibility, type Infeasibility } from './diagnose.js';
import { type Explanation, explain } from './explain.js';
import type { Problem } from './problem.js';
import { extractSchedule, type Schedule } from './schedule.js';
import type { LpSolver, SolveOptions, SolverName, SolveStatus } from './solver.js';

export interface OptimizeResult {
  status: SolveStatus;
  solver: SolverName;
  /** The model's objective at the plan (currency); exactly the LP objective, no penalties. */
  objective: number | null;
  /** Cost of the uncontrolled site (README "Baseline"). */
  baselineCost: number;
  /** baselineCost − objective. */
  savings: number | null;
  /** Re-plans only: the anti-flap penalty the solver also minimised (not part of `objective`). */
  stabilityPenalty?: number;
  cost: CostBreakdown | null;
  message?: string;
  infeasibility?: Infeasibility;
  schedule: Schedule | null;
  explanation: Explanation | null;
  size: { columns: number; rows: number; nonzeros: number };
  timing: { buildMs: number; solveMs: number };
}

/** Builds, solves and explains one site's plan; infeasible problems are diagnosed, not thrown. */
export async function optimize(
  p: Problem,
  solver: LpSolver,
  options: SolveOptions & Pick<BuildOptions, 'anchor'> = {},
): Promise<OptimizeResult> {
  const started = performance.now();
  const { anchor, ...solveOptions } = options;
  const { lp, layout } = buildLp(p, anchor ? { anchor } : {});
  const buildMs = performance.now() - started;
  const baselineCost = scheduleCost(p, baselineSchedule(p)).total;
  const sol = await solver.solve(lp, solveOptions);
  const common = {
    solver: solver.name,
    baselineCost,
    size: { columns: lp.numCols, rows: lp.numRows, nonzeros: lp.values.length },
    timing: { buildMs, solveMs: sol.solveMs },
  };
  if (sol.status !== 'optimal' || !sol.x) {
    const result: OptimizeResult = {
      ...common,
      status: sol.status,
      objective: null,
      savings: null,
      cost: null,
      schedule: null,
      explanation: null,
    };
    if (sol.message !== undefined) result.message = sol.message;
    if (sol.status === 'infeasible') {
      result.infeasibility = await diagnoseInfeasibility(p, solver);
      result.message = `no feasible plan: ${result.infeasibility.message}`;
    }
    return result;
  }
  const schedule = extractSchedule(p, layout, sol.x);
  const cost = scheduleCost(p, schedule);
  // With an anchor the solver's objective includes the anti-flap penalty; report the model's.
  const objective = anchor ? cost.total : sol.objective!;
  return {
    ...common,
    status: 'optimal',
    objective,
    savings: baselineCost - objective,
    ...(anchor ? { stabilityPenalty: sol.objective! - cost.total } : {}),
    cost,
    schedule,
    explanation: explain(lp, layout, sol.x, sol.rowDual),
  };
}
