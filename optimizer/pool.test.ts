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

  it('moves the model to the thread and back (not copied), and queues several solves on the thread', async () => {
    worker = new SolveWorker();
    const lps = [lpOf(2, 4), lpOf(3, 5), lpOf(4, 6)];
    const before = lps.map((lp) => ({ cost: lp.colCost.slice(), values: lp.values.slice() }));
    const expected = await Promise.all(lps.map((lp) => highsSolver.solve(lp)));
    const solving = lps.map((lp) => worker.solve(lp, 'highs'));
    // Posted at once: the thread has all three, and this thread no longer holds the arrays.
    expect(worker.inFlight).toBe(3);
    expect(lps[2]!.colCost.byteLength).toBe(0);
    const solved = await Promise.all(solving);
    solved.forEach((s, k) => {
      expect(s.objective).toBeCloseTo(expected[k]!.objective!, 9);
      expect(s.x).toBeInstanceOf(Float64Array);
      expect(s.rowDual).toBeInstanceOf(Float64Array);
      expect(lps[k]!.colCost).toEqual(before[k]!.cost);
      expect(lps[k]!.values).toEqual(before[k]!.values);
    });
  });

  it('runs a solve posted behind a cancellable one after it, on a fresh thread when that one is cancelled', async () => {
    worker = new SolveWorker();
    const controller = new AbortController();
    const big = worker.solve(lpOf(200, 7), 'highs', { signal: controller.signal });
    const small = worker.solve(lpOf(1, 8), 'highs');
    setTimeout(() => controller.abort(), 50);
    await expect(big).rejects.toMatchObject({ code: 'GFX_OPT_CANCELLED' });
    expect((await small).status).toBe('optimal');
  });
});
