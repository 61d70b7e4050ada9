import { afterEach, describe, expect, it } from 'vitest';
import { buildLp } from './build.js';
import { randomProblem } from './generate.js';
import { SolveWorker } from './pool.js';
import { parseProblem } from './problem.js';
import { highsSolver } from './solvers/highs.js';

const lpOf = (assets: number, seed = 1) => buildLp(parseProblem(randomProblem(seed, { assets }))).lp;
let worker: SolveWorker;
afterEach(() => worker?.close());

describe('solves in a worker thread', () => {
  it('gives the same optimum as solving in this thread', async () => {
    worker = new SolveWorker();
    const lp = lpOf(3);
    const inThread = await highsSolver.solve(lp);
    const inWorker = await worker.solve(lp, 'highs');
    expect(inWorker.status).toBe('optimal');
    expect(inWorker.objective).toBeCloseTo(inThread.objective!, 9);
    expect(inWorker.x).toBeInstanceOf(Float64Array);
    // A site's model kept on the thread gives the same optimum again (warm).
    for (let k = 0; k < 2; k++)
      expect((await worker.solve(lp, 'highs', { site: 's1' })).objective).toBeCloseTo(inThread.objective!, 9);
  });

  it('cancels a running solve by terminating the thread, and solves again afterwards', async () => {
    worker = new SolveWorker();
    const controller = new AbortController();
    const big = worker.solve(lpOf(200, 2), 'highs', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(big).rejects.toMatchObject({ code: 'GFX_OPT_CANCELLED' });
    const next = await worker.solve(lpOf(1), 'highs');
    expect(next.status).toBe('optimal');
  });

  it('stops a solve past its wall-clock budget with status time_limit', async () => {
    worker = new SolveWorker();
    const r = await worker.solve(lpOf(200, 3), 'highs', { budgetMs: 30 });
    expect(r.status).toBe('time_limit');
    expect(r.message).toContain('30 ms budget');
  });

  it('passes the solver refusal through as a GridflexError', async () => {
    worker = new SolveWorker();
    await expect(worker.solve(lpOf(20), 'jsl')).rejects.toMatchObject({ code: 'GFX_OPT_TOO_BIG' });
  });
});
