import { afterEach, describe, expect, it } from 'vitest';
import { buildLp } from './build.js';
import { randomProblem } from './generate.js';
import { parseProblem } from './problem.js';
import { highsSolver, PersistentHighs } from './solvers/highs.js';

let site: PersistentHighs | undefined;
afterEach(() => site?.dispose());

describe('persistent HiGHS model per site', () => {
  it('warm-starts a re-plan with changed prices and bounds to the same optimum as a cold solve', async () => {
    site = new PersistentHighs();
    const input = randomProblem(21, { assets: 8 });
    const first = await site.solve(buildLp(parseProblem(input)).lp);
    expect(first.status).toBe('optimal');
    expect(site.warm).toBe(false);
    const moved = {
      ...input,
      prices: {
        import: input.prices.import.map((p, t) => p * (t % 2 ? 1.03 : 0.97)),
        export: input.prices.export,
      },
      pvKw: input.pvKw.map((v) => v * 0.9),
    };
    const lp = buildLp(parseProblem(moved)).lp;
    const warm = await site.solve(lp, { timeLimitS: 30 });
    expect(site.warm).toBe(true);
    const cold = await highsSolver.solve(lp);
    expect(warm.status).toBe('optimal');
    expect(warm.objective).toBeCloseTo(cold.objective!, 7);
  });

  it('rebuilds the model when the structure changes', async () => {
    site = new PersistentHighs();
    await site.solve(buildLp(parseProblem(randomProblem(22, { assets: 2 }))).lp);
    const other = buildLp(parseProblem(randomProblem(22, { assets: 3 }))).lp;
    const r = await site.solve(other);
    expect(site.warm).toBe(false);
    expect(r.objective).toBeCloseTo((await highsSolver.solve(other)).objective!, 7);
  });
});
