import { parentPort } from 'node:worker_threads';
import { GridflexError } from '../model/index.js';
import { OPT_ERRORS } from './errors.js';
import { LP_ARRAYS, type LpModel } from './lp.js';
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
  /** The LP's arrays were moved here: move them back with the reply. */
  returnLp?: boolean;
}

/** A typed array that owns its buffer is moved; a view (e.g. into WebAssembly memory) is copied. */
function movable(a: Float64Array | undefined, transfer: ArrayBuffer[]): Float64Array | undefined {
  if (!a) return a;
  const own =
    a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength
      ? a
      : a.slice();
  transfer.push(own.buffer as ArrayBuffer);
  return own;
}

/** The lent LP arrays, to move back to the caller (the solvers keep no reference to them). */
function giveBack(req: SolveRequest, transfer: ArrayBuffer[]): { lp?: Record<string, unknown> } {
  if (!req.returnLp) return {};
  const lp: Record<string, unknown> = {};
  for (const k of LP_ARRAYS) {
    lp[k] = req.lp[k];
    transfer.push(req.lp[k].buffer as ArrayBuffer);
  }
  return { lp };
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
    const transfer: ArrayBuffer[] = [];
    const x = movable(solution.x, transfer);
    const rowDual = movable(solution.rowDual, transfer);
    parentPort?.postMessage(
      { id: req.id, solution: { ...solution, x, rowDual }, ...giveBack(req, transfer) },
      transfer,
    );
  } catch (err) {
    const e = err instanceof GridflexError ? err : new GridflexError(OPT_ERRORS.solver, String(err));
    const transfer: ArrayBuffer[] = [];
    parentPort?.postMessage(
      {
        id: req.id,
        error: { code: e.code, message: e.message, kind: e.kind },
        ...giveBack(req, transfer),
      },
      transfer,
    );
  }
});
