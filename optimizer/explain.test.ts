import { describe, expect, it } from 'vitest';
import { buildLp } from './build.js';
import { explain } from './explain.js';
import { randomProblem } from './generate.js';
import type { LpModel } from './lp.js';
import { parseProblem } from './problem.js';
import { highsSolver } from './solvers/highs.js';

/** The same model without the builder's column keys: explain() then reads the names. */
const namesOnly = (lp: LpModel): LpModel => ({ ...lp, colNames: lp.colNames, rowNames: lp.rowNames });

describe('explain() by column keys', () => {
  it.each([
    { label: 'plain', extra: {} },
    { label: 'multi-resolution', extra: { resolution: { fineSlots: 16, coarseFactor: 4 } } },
    { label: 'reservations', extra: { reservations: [{ id: 'r', upKw: 2, downKw: 1, sustainMinutes: 60 }] } },
  ])('gives what the names give ($label)', async ({ extra }) => {
    const p = parseProblem({ ...randomProblem(41, { assets: 10, peakChargePerKw: 0.1 }), ...extra });
    const { lp, layout } = buildLp(p);
    expect(lp.colKeys).toBeDefined();
    const sol = await highsSolver.solve(lp);
    const fast = explain(lp, layout, sol.x!, sol.rowDual);
    expect(fast.binding.length).toBeGreaterThan(0);
    expect(fast).toEqual(explain(namesOnly(lp), layout, sol.x!, sol.rowDual));
  });
});
