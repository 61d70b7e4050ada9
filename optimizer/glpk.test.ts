import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { glpsol } from '../testkit/system.js';
import { buildLp } from './build.js';
import { checkSchedule } from './check.js';
import { randomProblem } from './generate.js';
import { SOLVERS } from './index.js';
import type { LpModel } from './lp.js';
import { optimize } from './optimize.js';
import { parseProblem } from './problem.js';
import { glpsolSolve, relGap } from './testing.js';

const glpk = glpsol();
const dir = mkdtempSync(join(tmpdir(), 'gridflex-glpk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Solve with GLPK's glpsol from the model written as CPLEX LP. */
const glpkObjective = (lp: LpModel, name: string) => glpsolSolve(lp, dir, name, 'lp');

const cases = [
  { seed: 1, assets: 1, slots: 24 },
  { seed: 2, assets: 5, slots: 48, negativeExport: true },
  { seed: 3, assets: 7, slots: 96, peakChargePerKw: 0.5 },
  { seed: 4, assets: 12, slots: 96, negativeExport: true, peakChargePerKw: 0.2 },
  { seed: 5, assets: 25, slots: 96 },
];

describe.skipIf(glpk.skipReason !== null)('random instances against GLPK (glpsol)', () => {
  it.each(cases)('agrees within 1e-6 relative: %o', async ({ seed, ...o }) => {
    const p = parseProblem(randomProblem(seed, o));
    const r = await optimize(p, SOLVERS.highs);
    expect(r.status).toBe('optimal');
    expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
    const g = glpkObjective(buildLp(p).lp, `case-${seed}`);
    expect(g.status).toBe('optimal');
    expect(relGap(r.objective!, g.objective)).toBeLessThan(1e-6);
  });

  it.each([
    { seed: 6, label: 'multi-resolution horizon', extra: { resolution: { fineSlots: 16, coarseFactor: 4 } } },
    { seed: 8, label: 'terminal value of stored energy', extra: { terminalPricePerKwh: 0.25 } },
    {
      seed: 7,
      label: 'market reservations',
      extra: {
        reservations: [
          {
            id: 'up',
            upKw: Array.from({ length: 96 }, (_, t) => (t >= 8 && t < 24 ? 2 : 0)),
            sustainMinutes: 75,
          },
          { id: 'down', downKw: 1, sustainMinutes: 30 },
        ],
      },
    },
  ])('agrees within 1e-6 relative with a $label', async ({ seed, extra }) => {
    const p = parseProblem({ ...randomProblem(seed, { assets: 8, peakChargePerKw: 0.1 }), ...extra });
    const r = await optimize(p, SOLVERS.highs);
    expect(r.status).toBe('optimal');
    expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
    const g = glpkObjective(buildLp(p).lp, `extra-${seed}`);
    expect(g.status).toBe('optimal');
    expect(relGap(r.objective!, g.objective)).toBeLessThan(1e-6);
  });

  it('agrees with GLPK that an over-constrained site is infeasible', async () => {
    const p = parseProblem({ ...randomProblem(9, { assets: 3, slots: 24 }), grid: { importLimitKw: 0.5 } });
    expect((await optimize(p, SOLVERS.highs)).status).toBe('infeasible');
    expect(glpkObjective(buildLp(p).lp, 'infeasible').status).toBe('infeasible');
  });
});

describe('javascript-lp-solver against HiGHS on small instances', () => {
  it.each([
    { seed: 11, assets: 1, slots: 24 },
    { seed: 12, assets: 2, slots: 24, negativeExport: true },
    { seed: 13, assets: 3, slots: 24, peakChargePerKw: 0.3 },
    { seed: 14, assets: 5, slots: 16, negativeExport: true },
  ])('same objective within 1e-6 relative: %o', async ({ seed, ...o }) => {
    const p = parseProblem(randomProblem(seed, o));
    const h = await optimize(p, SOLVERS.highs);
    const j = await optimize(p, SOLVERS.jsl);
    expect(j.status).toBe('optimal');
    expect(checkSchedule(p, j.schedule!).violations).toEqual([]);
    expect(relGap(h.objective!, j.objective!)).toBeLessThan(1e-6);
  });

  it('refuses a problem too big for it, naming HiGHS', async () => {
    const p = parseProblem(randomProblem(15, { assets: 20 }));
    await expect(optimize(p, SOLVERS.jsl)).rejects.toThrow(/use --solver highs/);
  });
});
