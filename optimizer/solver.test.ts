import { describe, expect, it } from 'vitest';
import { buildLp } from './build.js';
import { randomProblem } from './generate.js';
import { parseProblem } from './problem.js';
import { algorithmFor, IPM_MIN_COLUMNS, PRESOLVE_MIN_COLUMNS, presolveFor } from './solver.js';
import { highsSolver, PersistentHighs } from './solvers/highs.js';

describe('HiGHS algorithm by model size', () => {
  it('auto picks simplex below IPM_MIN_COLUMNS and interior point from there; an explicit choice stands', () => {
    expect(algorithmFor(IPM_MIN_COLUMNS - 1)).toBe('simplex');
    expect(algorithmFor(IPM_MIN_COLUMNS)).toBe('ipm');
    expect(algorithmFor(10, 'ipm')).toBe('ipm');
    expect(algorithmFor(10 * IPM_MIN_COLUMNS, 'simplex')).toBe('simplex');
  });

  it('simplex and interior point reach the same optimum on a mixed site', async () => {
    const { lp } = buildLp(parseProblem(randomProblem(41, { assets: 8, peakChargePerKw: 0.1 })));
    const simplex = await highsSolver.solve(lp, { algorithm: 'simplex' });
    const ipm = await highsSolver.solve(lp, { algorithm: 'ipm' });
    expect(ipm.status).toBe('optimal');
    expect(Math.abs(ipm.objective! - simplex.objective!)).toBeLessThan(
      1e-6 * Math.max(1, Math.abs(simplex.objective!)),
    );
  });

  it("presolve 'auto' is off below PRESOLVE_MIN_COLUMNS; the default keeps HiGHS' presolve", async () => {
    expect(presolveFor(PRESOLVE_MIN_COLUMNS - 1, 'auto')).toBe('off');
    expect(presolveFor(PRESOLVE_MIN_COLUMNS, 'auto')).toBe('choose');
    expect(presolveFor(10)).toBe('choose');
    expect(presolveFor(10 * PRESOLVE_MIN_COLUMNS, 'off')).toBe('off');
    const { lp } = buildLp(
      parseProblem(randomProblem(42, { assets: 12, negativeExport: true, peakChargePerKw: 0.1 })),
    );
    const off = await highsSolver.solve(lp, { presolve: 'auto' });
    const on = await highsSolver.solve(lp);
    expect(Math.abs(off.objective! - on.objective!)).toBeLessThan(
      1e-9 * Math.max(1, Math.abs(on.objective!)),
    );
  });

  it('a thread reusing one HiGHS instance for small models gives what a fresh instance gives, infeasible included', async () => {
    const problems = [
      randomProblem(43, { assets: 6, negativeExport: true }),
      { ...randomProblem(44, { assets: 3, slots: 24 }), grid: { importLimitKw: 0.5 } },
      randomProblem(45, { assets: 2, slots: 48, peakChargePerKw: 0.3 }),
      randomProblem(43, { assets: 6, negativeExport: true }),
    ];
    for (const input of problems) {
      const { lp } = buildLp(parseProblem(input));
      const fresh = new PersistentHighs();
      const expected = await fresh.solve(lp);
      fresh.dispose();
      const reused = await highsSolver.solve(lp);
      expect(reused.status).toBe(expected.status);
      if (expected.status === 'optimal') expect(reused.objective).toBeCloseTo(expected.objective!, 9);
    }
  });
});
