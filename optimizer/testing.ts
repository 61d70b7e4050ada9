import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { checkSchedule } from './check.js';
import { SOLVERS } from './index.js';
import { type LpModel, toCplexLp, toMps } from './lp.js';
import { optimize } from './optimize.js';
import { type ProblemInput, parseProblem } from './problem.js';

/**
 * Parse and solve `input`, and check what every optimum must satisfy: optimal, a schedule the
 * full-resolution model accepts, and a reported cost equal to the objective (recomputed
 * independently of the solver).
 */
export async function solveChecked(input: ProblemInput, solver: 'highs' | 'jsl' = 'highs') {
  const p = parseProblem(input);
  const r = await optimize(p, SOLVERS[solver]);
  expect(r.status).toBe('optimal');
  expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
  expect(r.cost!.total).toBeCloseTo(r.objective!, 9);
  return { p, r };
}

/** How far apart two objectives are, relative to the larger (and at least 1). */
export const relGap = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Solve `lp` with GLPK's glpsol, written into `dir` as CPLEX LP or as free MPS (the writer the
 * native path uses); the `s` line of --write carries the status and the objective at full precision.
 */
export function glpsolSolve(
  lp: LpModel,
  dir: string,
  name: string,
  format: 'lp' | 'freemps',
): { status: 'optimal' | 'infeasible'; objective: number } {
  const file = join(dir, `${name}.${format === 'lp' ? 'lp' : 'mps'}`);
  const out = join(dir, `${name}.sol`);
  writeFileSync(file, format === 'lp' ? toCplexLp(lp) : toMps(lp));
  execFileSync('/usr/bin/glpsol', [`--${format}`, file, '--write', out], { stdio: 'ignore' });
  const line = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('s '))!;
  const [, , , , prim, , obj] = line.split(/\s+/);
  return { status: prim === 'f' ? 'optimal' : 'infeasible', objective: Number(obj) + lp.offset };
}
