import { baselineSchedule } from './baseline.js';
import { type BuildOptions, buildLp, type Layout } from './build.js';
import { type CostBreakdown, scheduleCost } from './check.js';
import { diagnoseInfeasibility, type Infeasibility } from './diagnose.js';
import { type Explanation, explain } from './explain.js';
import type { LpModel } from './lp.js';
import type { Problem } from './problem.js';
import { extractSchedule, type Schedule } from './schedule.js';
import type { LpSolution, LpSolver, SolveOptions, SolverName, SolveStatus } from './solver.js';

export interface OptimizeResult {
  status: SolveStatus;
  solver: SolverName;
  /** The model's objective at the plan (currency); exactly the LP objective, no penalties. */
  objective: number | null;
  /** Cost of the uncontrolled site (README "Baseline"). */
  baselineCost: number;
  /** baselineCost − objective. */
  savings: number | null;
  /** What actually solved when `solver` handed over (`cbc` without the binary → `highs`). */
  engine?: string;
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

/** A site's model built and costed before its solve (the part `planFleet` does while a thread solves). */
export interface PreparedSite {
  p: Problem;
  lp: LpModel;
  layout: Layout;
  anchored: boolean;
  buildMs: number;
  baselineCost: number;
}

/** Builds the LP and costs the baseline: everything `optimize` does before the solve. */
export function prepareSite(p: Problem, options: Pick<BuildOptions, 'anchor'> = {}): PreparedSite {
  const started = performance.now();
  const { lp, layout } = buildLp(p, options.anchor ? { anchor: options.anchor } : {});
  const buildMs = performance.now() - started;
  const baselineCost = scheduleCost(p, baselineSchedule(p)).total;
  return { p, lp, layout, anchored: options.anchor !== undefined, buildMs, baselineCost };
}

/** The result from a prepared site and its solution; infeasible problems are diagnosed with `solver`. */
export async function finishSite(
  site: PreparedSite,
  sol: LpSolution,
  solver: LpSolver,
): Promise<OptimizeResult> {
  const { p, lp, layout, anchored: anchor, buildMs, baselineCost } = site;
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
    ...(sol.engine !== undefined && sol.engine !== solver.name ? { engine: sol.engine } : {}),
    ...(sol.message !== undefined ? { message: sol.message } : {}),
    cost,
    schedule,
    explanation: explain(lp, layout, sol.x, sol.rowDual),
  };
}

/** Builds, solves and explains one site's plan; infeasible problems are diagnosed, not thrown. */
export async function optimize(
  p: Problem,
  solver: LpSolver,
  options: SolveOptions & Pick<BuildOptions, 'anchor'> = {},
): Promise<OptimizeResult> {
  const { anchor, ...solveOptions } = options;
  const site = prepareSite(p, anchor ? { anchor } : {});
  const sol = await solver.solve(site.lp, solveOptions);
  return finishSite(site, sol, solver);
}
