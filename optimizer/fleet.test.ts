import { afterAll, describe, expect, it } from 'vitest';
import { planFleet } from './fleet.js';
import { randomProblem } from './generate.js';
import { optimize } from './optimize.js';
import { SolveWorker } from './pool.js';
import { parseProblem } from './problem.js';
import { highsSolver } from './solvers/highs.js';

const workers = [new SolveWorker(), new SolveWorker()];
afterAll(() => Promise.all(workers.map((w) => w.close())));

describe('fleet planning over solver threads', () => {
  it('plans every site, in order, with the same optima as one thread, cold and warm', async () => {
    const sites = Array.from({ length: 5 }, (_, k) => ({
      site: `site-${k}`,
      problem: parseProblem(randomProblem(300 + k, { assets: 2 + k, slots: 48 })),
    }));
    const expected = await Promise.all(sites.map((s) => optimize(s.problem, highsSolver)));
    for (const warm of [false, true, true]) {
      const results = await planFleet(sites, workers, { warm });
      expect(results.map((r) => r.status)).toEqual(sites.map(() => 'optimal'));
      results.forEach((r, i) => {
        expect(r.objective).toBeCloseTo(expected[i]!.objective!, 7);
      });
    }
  });
});
