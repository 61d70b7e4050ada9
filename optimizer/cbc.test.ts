import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cbc as cbcProbe, glpsol } from '../testkit/system.js';
import { buildLp } from './build.js';
import { checkSchedule } from './check.js';
import { randomProblem } from './generate.js';
import type { LpModel } from './lp.js';
import { optimize } from './optimize.js';
import { parseProblem } from './problem.js';
import { autoSolver, cbcSolver, findCbc } from './solvers/cbc.js';
import { highsSolver } from './solvers/highs.js';
import { glpsolSolve, relGap } from './testing.js';

const hasCbc = cbcProbe();
const hasGlpk = glpsol();
const dir = mkdtempSync(join(tmpdir(), 'gridflex-cbc-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GLPK's objective of the model written as free MPS (the writer the native path uses). */
function glpkMps(lp: LpModel, name: string): number {
  const g = glpsolSolve(lp, dir, name, 'freemps');
  expect(g.status).toBe('optimal');
  return g.objective;
}

const T = 96;
const cases = [
  { label: 'small', input: randomProblem(21, { assets: 3, slots: 24, negativeExport: true }) },
  { label: 'medium', input: randomProblem(22, { assets: 40, peakChargePerKw: 0.2 }) },
  {
    label: 'multi-resolution',
    input: { ...randomProblem(23, { assets: 12 }), resolution: { fineSlots: 16, coarseFactor: 4 } },
  },
  {
    label: 'reservations',
    input: {
      ...randomProblem(24, { assets: 8, peakChargePerKw: 0.1 }),
      reservations: [
        {
          id: 'up',
          upKw: Array.from({ length: T }, (_, t) => (t >= 8 && t < 24 ? 2 : 0)),
          sustainMinutes: 75,
        },
        { id: 'down', downKw: 1, sustainMinutes: 30 },
      ],
    },
  },
];

describe.skipIf(hasCbc.skipReason !== null)('native CBC path (child process)', () => {
  it.each(cases)(
    'same optimum as HiGHS and GLPK on the $label site; plan passes the checker',
    async ({ label, input }) => {
      const p = parseProblem(input);
      const c = await optimize(p, cbcSolver());
      const h = await optimize(p, highsSolver);
      expect(c.status).toBe('optimal');
      expect(c.solver).toBe('cbc');
      expect(checkSchedule(p, c.schedule!).violations).toEqual([]);
      expect(relGap(c.objective!, h.objective!)).toBeLessThan(1e-6);
      if (hasGlpk.skipReason === null)
        expect(relGap(c.objective!, glpkMps(buildLp(p).lp, label))).toBeLessThan(1e-6);
    },
  );

  it('gives the same marginal prices (row duals, same sign) where they are unique', async () => {
    // No flexibility: one more kWh in a slot costs that slot's import price, or forgoes its
    // export price when the site exports.
    const p = parseProblem({
      slotMinutes: 60,
      prices: { import: [0.3, 0.2, 0.25], export: [0.05, 0.05, 0.05] },
      baseLoadKw: [2, 1, 1],
      pvKw: [0, 3, 0],
      assets: [],
    });
    const r = await optimize(p, cbcSolver());
    expect(r.explanation!.marginalPricePerKwh!.map((v) => Number(v.toFixed(9)))).toEqual([0.3, 0.05, 0.25]);
  });

  it('reports an infeasible site as infeasible and diagnoses it', async () => {
    const p = parseProblem({ ...randomProblem(9, { assets: 3, slots: 24 }), grid: { importLimitKw: 0.5 } });
    const r = await optimize(p, cbcSolver());
    expect(r.status).toBe('infeasible');
    expect(r.infeasibility?.family).toBeTruthy();
  });

  it('stops at the time limit by killing the process', async () => {
    const { lp } = buildLp(parseProblem(randomProblem(25, { assets: 60 })));
    const r = await cbcSolver().solve(lp, { timeLimitS: 0.001 });
    expect(r.status).toBe('time_limit');
    expect(r.engine).toBe('cbc');
  });

  it('rejects when the signal aborts', async () => {
    const { lp } = buildLp(parseProblem(randomProblem(26, { assets: 60 })));
    const ac = new AbortController();
    const solving = cbcSolver().solve(lp, { signal: ac.signal });
    ac.abort(new Error('newer plan'));
    await expect(solving).rejects.toThrow('newer plan');
  });

  it('auto uses the native path from its column threshold and HiGHS below it', async () => {
    const { lp } = buildLp(parseProblem(randomProblem(27, { assets: 5, slots: 24 })));
    const big = await autoSolver({ minColumns: 0 }).solve(lp);
    const small = await autoSolver({ minColumns: lp.numCols + 1 }).solve(lp);
    expect(big.engine).toBe('cbc');
    expect(small.engine).toBeUndefined();
    expect(relGap(big.objective!, small.objective!)).toBeLessThan(1e-6);
  });
});

describe('native CBC path without a usable binary falls back to HiGHS', () => {
  const p = parseProblem(randomProblem(28, { assets: 4, slots: 24, peakChargePerKw: 0.1 }));

  it('finds no binary where there is none, or when turned off', () => {
    expect(findCbc(join(dir, 'no-such-cbc'))).toBeNull();
    expect(findCbc('off')).toBeNull();
    expect(findCbc(null)).toBeNull();
  });

  it.each([
    { label: 'missing', binary: null, message: /cbc is not installed/ },
    { label: 'not found at its path', binary: join(dir, 'no-such-cbc'), message: /cbc failed/ },
    { label: 'failing', binary: '/bin/false', message: /cbc failed \(exit 1\)/ },
  ])('$label binary → HiGHS, same optimum, says so', async ({ binary, message }) => {
    const expected = await optimize(p, highsSolver);
    const solver = cbcSolver({ binary });
    const { lp } = buildLp(p);
    const sol = await solver.solve(lp);
    expect(sol.status).toBe('optimal');
    expect(sol.engine).toBe('highs');
    expect(sol.message).toMatch(message);
    const r = await optimize(p, solver);
    expect(r.objective).toBeCloseTo(expected.objective!, 9);
    expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
  });
});
