import { describe, expect, it } from 'vitest';
import { MODEL_ERRORS, parseOrThrow } from '../model/index.js';
import { buildLp } from './build.js';
import { randomProblem } from './generate.js';
import { LP_ARRAYS } from './lp.js';
import { LpFromWireSchema, lpToWire, solutionFromWireSchema, solutionToWire } from './lp-wire.js';
import { parseProblem } from './problem.js';
import { highsSolver } from './solvers/highs.js';

const siteLp = () => buildLp(parseProblem(randomProblem(5, { assets: 5 }))).lp;

describe('an LP and its solution as JSON', () => {
  it('come back bit for bit, infinite bounds included, and solve to the same optimum', async () => {
    const lp = siteLp();
    expect(lp.colUpper.some((v) => v === Number.POSITIVE_INFINITY)).toBe(true);
    const wire = JSON.parse(JSON.stringify(lpToWire(lp)));
    const back = parseOrThrow(LpFromWireSchema, wire, 'the LP');
    for (const k of LP_ARRAYS) expect(back[k], k).toEqual(lp[k]);
    expect([back.numCols, back.numRows, back.offset]).toEqual([lp.numCols, lp.numRows, lp.offset]);
    const here = await highsSolver.solve(lp);
    const there = await highsSolver.solve(back);
    expect(there.objective).toBe(here.objective);
    const answer = JSON.parse(JSON.stringify(solutionToWire(there)));
    const sol = parseOrThrow(solutionFromWireSchema(lp), answer, 'the answer');
    expect(sol.x).toEqual(here.x);
    expect(sol.rowDual).toEqual(here.rowDual);
    expect(sol).toMatchObject({ status: 'optimal', objective: here.objective });
  });

  it('a model that does not add up is refused naming the field', () => {
    const lp = siteLp();
    const wire = lpToWire(lp);
    const issues = (input: unknown) => {
      try {
        parseOrThrow(LpFromWireSchema, input, 'the LP');
      } catch (err) {
        expect(err).toMatchObject({ code: MODEL_ERRORS.VALIDATION });
        return (err as { issues: { path: string; message: string }[] }).issues.map(
          (i) => `${i.path}: ${i.message}`,
        );
      }
      throw new Error('expected a refusal');
    };
    expect(issues({ ...wire, numCols: lp.numCols + 1 })).toEqual(
      expect.arrayContaining([`colCost: expected ${lp.numCols + 1} values, got ${lp.numCols}`]),
    );
    expect(issues({ ...wire, values: 'not base64!' })).toEqual([expect.stringMatching(/^values: /)]);
    expect(
      issues({ ...wire, indices: lpToWire({ ...lp, indices: lp.indices.map(() => lp.numCols) }).indices }),
    ).toEqual([`indices[0]: column ${lp.numCols} of ${lp.numCols}`]);
    // A stream inflating past what the sizes allow is refused, not allocated.
    expect(issues({ ...wire, rowLower: wire.colCost })[0]).toMatch(/^rowLower: not a packed array/);
    expect(() =>
      parseOrThrow(solutionFromWireSchema(lp), { status: 'optimal', solveMs: 1 }, 'the answer'),
    ).toThrow(/an optimal solution needs x/);
  });
});
