import { type OptimizeResult, optimize } from './optimize.js';
import type { SolveWorker } from './pool.js';
import type { Problem } from './problem.js';
import { workerSolver } from './replan.js';
import type { SolverName } from './solver.js';

export interface SiteProblem {
  site: string;
  problem: Problem;
}

/**
 * Plans independent sites over a set of solver threads (one per core): each worker takes the
 * next site as soon as it is free. Sites never share an LP (each has its own grid connection),
 * so this is exact. With `warm`, each site's HiGHS model stays on the worker that solved it;
 * sites are dealt to workers by position so a re-plan of the same fleet finds its model again.
 */
export async function planFleet(
  sites: readonly SiteProblem[],
  workers: readonly SolveWorker[],
  options: { solver?: SolverName; warm?: boolean } = {},
): Promise<OptimizeResult[]> {
  if (workers.length === 0) throw new Error('planFleet needs at least one worker');
  const results: OptimizeResult[] = new Array(sites.length);
  const solver = options.solver ?? 'highs';
  if (options.warm) {
    await Promise.all(
      workers.map(async (worker, w) => {
        for (let i = w; i < sites.length; i += workers.length) {
          const s = sites[i]!;
          results[i] = await optimize(s.problem, workerSolver(worker, solver, undefined, s.site));
        }
      }),
    );
    return results;
  }
  let next = 0;
  await Promise.all(
    workers.map(async (worker) => {
      while (next < sites.length) {
        const i = next++;
        results[i] = await optimize(sites[i]!.problem, workerSolver(worker, solver));
      }
    }),
  );
  return results;
}
