import jslModule, { type Model } from 'javascript-lp-solver';
import { GridflexError } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import { type LpModel, objectiveOf } from '../lp.js';
import type { LpSolution, LpSolver } from '../solver.js';

/**
 * Largest model jsl is allowed to take, counted as columns + rows + finite column bounds (jsl
 * turns each bound into a row of its dense tableau). Measured in bench/optimizer.ts: about
 * this size solves in a few seconds on the 2-core development machine; beyond it the time
 * grows with the cube of the size and jsl has no time limit for pure LPs.
 */
type Solve = (model: Model) => Record<string, number | boolean | undefined>;
// The package's types describe a CommonJS default export; under ESM the solver is the default.
const jsl = ((jslModule as unknown as { default?: { Solve: Solve } }).default ?? jslModule) as unknown as {
  Solve: Solve;
};

export const JSL_MAX_SIZE = 2500;

export function jslSize(lp: LpModel): number {
  let bounds = 0;
  for (let j = 0; j < lp.numCols; j++) if (Number.isFinite(lp.colUpper[j]!)) bounds++;
  return lp.numCols + lp.numRows + bounds;
}

/**
 * javascript-lp-solver, the pure-JavaScript option. Its variables are non-negative, so each
 * column is shifted by its (finite) lower bound: x = lower + x', and row bounds move with it.
 * It gives no duals.
 */
export const jslSolver: LpSolver = {
  name: 'jsl',
  async solve(lp: LpModel): Promise<LpSolution> {
    const size = jslSize(lp);
    if (size > JSL_MAX_SIZE)
      throw new GridflexError(
        OPT_ERRORS.tooBig,
        `javascript-lp-solver cannot solve this problem in reasonable time (size ${size}, limit ${JSL_MAX_SIZE}); use --solver highs`,
        { kind: 'input', details: { size, limit: JSL_MAX_SIZE } },
      );
    const started = performance.now();
    const shift = new Float64Array(lp.numCols);
    for (let j = 0; j < lp.numCols; j++) {
      const lo = lp.colLower[j]!;
      if (!Number.isFinite(lo)) throw new GridflexError(OPT_ERRORS.solver, 'jsl needs finite lower bounds');
      shift[j] = lo;
    }
    const constraints: Model['constraints'] = {};
    const variables: Model['variables'] = {};
    for (let j = 0; j < lp.numCols; j++) {
      variables[`x${j}`] = { cost: lp.colCost[j]! };
      const span = lp.colUpper[j]! - shift[j]!;
      if (Number.isFinite(span)) {
        constraints[`u${j}`] = { max: span };
        variables[`x${j}`]![`u${j}`] = 1;
      }
    }
    for (let i = 0; i < lp.numRows; i++) {
      let moved = 0;
      for (let k = lp.starts[i]!; k < lp.starts[i + 1]!; k++) {
        const j = lp.indices[k]!;
        variables[`x${j}`]![`r${i}`] = lp.values[k]!;
        moved += lp.values[k]! * shift[j]!;
      }
      const lo = lp.rowLower[i]! - moved;
      const hi = lp.rowUpper[i]! - moved;
      if (lo === hi) constraints[`r${i}`] = { equal: lo };
      else {
        const bound: { min?: number; max?: number } = {};
        if (Number.isFinite(lo)) bound.min = lo;
        if (Number.isFinite(hi)) bound.max = hi;
        constraints[`r${i}`] = bound;
      }
    }
    const result = jsl.Solve({ optimize: 'cost', opType: 'min', constraints, variables });
    const solveMs = performance.now() - started;
    if (result.feasible !== true)
      return { status: 'infeasible', solveMs, message: 'javascript-lp-solver: infeasible' };
    if (result.bounded === false)
      return { status: 'error', solveMs, message: 'javascript-lp-solver: unbounded' };
    const x = new Float64Array(lp.numCols);
    for (let j = 0; j < lp.numCols; j++) {
      const v = result[`x${j}`];
      x[j] = shift[j]! + (typeof v === 'number' ? v : 0);
    }
    return { status: 'optimal', x, objective: objectiveOf(lp, x), solveMs };
  },
};
