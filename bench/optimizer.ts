/**
 * Optimiser solve times on random mixed sites (optimizer/generate.ts), 96 quarter-hour slots:
 *  1. HiGHS (simplex and interior point) and javascript-lp-solver by site size, medians, with
 *     the HiGHS/jsl time ratio and objective gap where both run;
 *  2. a fleet planned site by site versus one monolithic (block-diagonal) LP of the same sites;
 *  3. a whole fleet re-planned site by site on one thread;
 *  4. a warm re-plan on a persistent HiGHS model after a ±3 % price change, versus cold;
 *  5. the same fleet re-planned over one solver thread per core, cold then warm (±3 % prices).
 *
 *   npx tsx bench/optimizer.ts [--sizes 1,10,100,1000] [--repeat 5] [--fleet 100x10] [--replan 1000x5] [--warm 100]
 */

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { buildLp } from '../optimizer/build.js';
import { randomProblem } from '../optimizer/generate.js';
import {
  JSL_MAX_SIZE,
  jslSize,
  type LpModel,
  parseProblem,
  planFleet,
  SOLVERS,
  SolveWorker,
} from '../optimizer/index.js';
import type { SolveOptions } from '../optimizer/solver.js';
import { PersistentHighs } from '../optimizer/solvers/highs.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10,100,1000' },
    repeat: { type: 'string', default: '5' },
    fleet: { type: 'string', default: '100x10' },
    replan: { type: 'string', default: '1000x5' },
    warm: { type: 'string', default: '100' },
  },
});
const REPEAT = Number(args.repeat);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);

async function timeSolve(solver: 'highs' | 'jsl', lp: LpModel, repeat: number, options: SolveOptions = {}) {
  const times: number[] = [];
  let objective = Number.NaN;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const sol = await SOLVERS[solver].solve(lp, options);
    times.push(performance.now() - t0);
    if (sol.status !== 'optimal') throw new Error(`${solver}: ${sol.status} ${sol.message ?? ''}`);
    objective = sol.objective!;
  }
  return { ms: median(times), objective };
}

/** The LPs of independent sites side by side: one block-diagonal model. */
function mergeLps(lps: LpModel[]): LpModel {
  const cat = <T extends Float64Array | Int32Array>(make: (n: number) => T, parts: ArrayLike<number>[]) => {
    const out = make(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p as unknown as ArrayLike<number>, at);
      at += p.length;
    }
    return out;
  };
  const f64 = (n: number) => new Float64Array(n);
  const starts: number[] = [0];
  const indices: number[] = [];
  let colBase = 0;
  let nzBase = 0;
  for (const lp of lps) {
    for (let i = 1; i <= lp.numRows; i++) starts.push(nzBase + lp.starts[i]!);
    for (const j of lp.indices) indices.push(colBase + j);
    colBase += lp.numCols;
    nzBase += lp.values.length;
  }
  return {
    numCols: colBase,
    numRows: lps.reduce((n, lp) => n + lp.numRows, 0),
    offset: lps.reduce((s, lp) => s + lp.offset, 0),
    colNames: lps.flatMap((lp, k) => lp.colNames.map((n) => `site${k}.${n}`)),
    rowNames: lps.flatMap((lp, k) => lp.rowNames.map((n) => `site${k}.${n}`)),
    colCost: cat(
      f64,
      lps.map((l) => l.colCost),
    ),
    colLower: cat(
      f64,
      lps.map((l) => l.colLower),
    ),
    colUpper: cat(
      f64,
      lps.map((l) => l.colUpper),
    ),
    rowLower: cat(
      f64,
      lps.map((l) => l.rowLower),
    ),
    rowUpper: cat(
      f64,
      lps.map((l) => l.rowUpper),
    ),
    starts: Int32Array.from(starts),
    indices: Int32Array.from(indices),
    values: cat(
      f64,
      lps.map((l) => l.values),
    ),
  };
}

const site = (seed: number, assets: number) =>
  buildLp(parseProblem(randomProblem(seed, { assets, negativeExport: seed % 2 === 0, peakChargePerKw: 0.1 })))
    .lp;

await SOLVERS.highs.solve(site(0, 1)); // load the WebAssembly runtime outside the timings

console.log(`1. One site, 96 slots, mixed assets (median of ${REPEAT}; the largest once)`);
console.log(
  'assets | columns | rows   | build    | HiGHS simplex | HiGHS ipm | jsl        | HiGHS/jsl | objective gap',
);
for (const n of args.sizes.split(',').map(Number)) {
  const t0 = performance.now();
  const lp = site(n, n);
  const build = performance.now() - t0;
  const repeat = n >= 1000 ? 1 : REPEAT;
  const simplex = await timeSolve('highs', lp, repeat, { algorithm: 'simplex' });
  const ipm = await timeSolve('highs', lp, repeat, { algorithm: 'ipm' });
  let jslCell = `refused (size ${jslSize(lp)} > ${JSL_MAX_SIZE})`;
  let ratio = '';
  let gap = '';
  if (jslSize(lp) <= JSL_MAX_SIZE) {
    const j = await timeSolve('jsl', lp, Math.min(repeat, 3));
    jslCell = ms(j.ms);
    ratio = (Math.min(simplex.ms, ipm.ms) / j.ms).toFixed(3);
    gap = (
      Math.abs(j.objective - simplex.objective) / Math.max(1, Math.abs(simplex.objective))
    ).toExponential(1);
  }
  console.log(
    `${n} | ${lp.numCols} | ${lp.numRows} | ${ms(build)} | ${ms(simplex.ms)} | ${ms(ipm.ms)} | ${jslCell} | ${ratio} | ${gap}`,
  );
}

const [fleetSites, fleetAssets] = args.fleet.split('x').map(Number) as [number, number];
console.log(
  `\n2. Fleet of ${fleetSites} sites × ${fleetAssets} assets: per site vs one monolithic LP (HiGHS)`,
);
{
  const lps = Array.from({ length: fleetSites }, (_, k) => site(1000 + k, fleetAssets));
  let perSite = 0;
  let sum = 0;
  for (const lp of lps) {
    const r = await timeSolve('highs', lp, 1);
    perSite += r.ms;
    sum += r.objective;
  }
  const mono = await timeSolve('highs', mergeLps(lps), 1);
  console.log(`per site (sum of ${fleetSites} solves): ${ms(perSite)}`);
  console.log(`monolithic LP: ${ms(mono.ms)}`);
  console.log(`per-site / monolithic time ratio: ${(perSite / mono.ms).toFixed(3)}`);
  console.log(
    `objective: per site ${sum.toFixed(6)}, monolithic ${mono.objective.toFixed(6)} (same optimum expected)`,
  );
}

const [replanSites, replanAssets] = args.replan.split('x').map(Number) as [number, number];
console.log(
  `\n3. Re-plan of ${replanSites} sites × ${replanAssets} assets, one thread (HiGHS, build + solve)`,
);
{
  const t0 = performance.now();
  const times: number[] = [];
  for (let k = 0; k < replanSites; k++) {
    const s0 = performance.now();
    await SOLVERS.highs.solve(site(5000 + k, replanAssets));
    times.push(performance.now() - s0);
  }
  console.log(
    `total: ${ms(performance.now() - t0)}; per site median ${ms(median(times))}, max ${ms(Math.max(...times))}`,
  );
}

const warmAssets = Number(args.warm);
console.log(
  `\n4. Re-plan of one ${warmAssets}-asset site after a ±3 % price change: cold vs warm (median of ${REPEAT})`,
);
{
  const input = randomProblem(7000, { assets: warmAssets });
  const nudged = (k: number) =>
    buildLp(
      parseProblem({
        ...input,
        prices: {
          import: input.prices.import.map((p, t) => p * (1 + 0.03 * Math.sin(k + t))),
          export: input.prices.export,
        },
      }),
    ).lp;
  const cold: number[] = [];
  const warm: number[] = [];
  const site = new PersistentHighs();
  await site.solve(nudged(0));
  for (let k = 1; k <= REPEAT; k++) {
    const lp = nudged(k);
    cold.push((await SOLVERS.highs.solve(lp)).solveMs);
    const w = await site.solve(lp);
    if (!site.warm || w.status !== 'optimal') throw new Error('expected a warm optimal re-plan');
    warm.push(w.solveMs);
  }
  site.dispose();
  console.log(
    `cold ${ms(median(cold))}, warm ${ms(median(warm))} (warm/cold ${(median(warm) / median(cold)).toFixed(3)})`,
  );
}

const cores = availableParallelism();
console.log(
  `\n5. Re-plan of ${replanSites} sites × ${replanAssets} assets over ${cores} solver threads (build on the main thread)`,
);
{
  const workers = Array.from({ length: cores }, () => new SolveWorker());
  const fleet = (k: number) =>
    Array.from({ length: replanSites }, (_, i) => {
      const input = randomProblem(5000 + i, {
        assets: replanAssets,
        negativeExport: i % 2 === 0,
        peakChargePerKw: 0.1,
      });
      const prices = input.prices.import.map((p, t) => p * (1 + 0.03 * Math.sin(k + t)));
      return {
        site: `site-${i}`,
        problem: parseProblem({ ...input, prices: { ...input.prices, import: prices } }),
      };
    });
  await Promise.all(workers.map((w) => w.solve(site(0, 1), 'highs'))); // start the threads outside the timing
  for (const [label, k, warm] of [
    ['cold', 0, false],
    ['warm, first pass (models loaded)', 0, true],
    ['warm, after a ±3 % price change', 1, true],
  ] as const) {
    const sites = fleet(k);
    const t0 = performance.now();
    const results = await planFleet(sites, workers, { warm });
    const bad = results.filter((r) => r.status !== 'optimal').length;
    console.log(`${label}: ${ms(performance.now() - t0)}${bad ? ` (${bad} not optimal)` : ''}`);
  }
  await Promise.all(workers.map((w) => w.close()));
}
