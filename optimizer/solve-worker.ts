import { parentPort } from 'node:worker_threads';
import { GridflexError } from '../model/index.js';
import type { LpModel } from './lp.js';
import type { SolveOptions, SolverName } from './solver.js';
import { autoSolver, cbcSolver } from './solvers/cbc.js';
import { highsSolver, PersistentHighs } from './solvers/highs.js';
import { jslSolver } from './solvers/jsl.js';

/** A request to the solve worker (see pool.ts). */
export interface SolveRequest {
  id: number;
  lp: LpModel;
  solver: SolverName;
  options: SolveOptions;
  /** With HiGHS: keep this site's model in the worker and warm-start its next solve. */
  site?: string;
}

const solvers = { highs: highsSolver, jsl: jslSolver, cbc: cbcSolver(), auto: autoSolver() };
const sites = new Map<string, PersistentHighs>();

function solverFor(req: SolveRequest) {
  if (req.solver !== 'highs' || req.site === undefined) return solvers[req.solver];
  let site = sites.get(req.site);
  if (!site) {
    site = new PersistentHighs();
    sites.set(req.site, site);
  }
  return site;
}

// Solvers block their thread; running them here keeps the caller's event loop free and lets
// it cancel a solve by terminating this worker.
parentPort?.on('message', async (req: SolveRequest) => {
  try {
    const solution = await solverFor(req).solve(req.lp, req.options);
    parentPort?.postMessage({ id: req.id, solution });
  } catch (err) {
    const e = err instanceof GridflexError ? err : new GridflexError('GFX_OPT_SOLVER', String(err));
    parentPort?.postMessage({ id: req.id, error: { code: e.code, message: e.message, status: e.status } });
  }
});
