/**
 * Optimiser solve times on random mixed sites (optimizer/generate.ts), 96 quarter-hour slots:
 *  1. HiGHS (simplex and interior point) and javascript-lp-solver by site size, medians, with
 *     the HiGHS/jsl time ratio and objective gap where both run;
 *  2. a fleet planned site by site versus one monolithic (block-diagonal) LP of the same sites;
 *  3. a whole fleet re-planned site by site on one thread;
 *  4. a warm re-plan on a persistent HiGHS model after a ±3 % price change, versus cold;
 *  5. the same fleet re-planned over one solver thread per core, cold then warm (±3 % prices).
 *
 *  6. simplex vs interior point by size: where `auto` switches (IPM_MIN_COLUMNS);
 *  7. a PV-surplus site with negative export prices (export and curtailment exercised);
 *  8. the multi-resolution horizon against full resolution: cost and solve time;
 *  9. the cost of holding a market reservation (re-solve with and without);
 * 10. one large site (1,000 assets) through the native path (`auto`: CBC/CLP barrier as a
 *     child process) against CBC's own default solve of the same LP written as MPS (the
 *     reference, alternated with ours), the WebAssembly default (HiGHS), and GLPK's objective;
 * 11. HiGHS dual simplex with and without presolve by size (CPU per solve; PRESOLVE_MIN_COLUMNS).
 *
 *   npx tsx bench/optimizer.ts [--sizes 1,10,100,1000] [--repeat 5] [--fleet 100x10] [--replan 1000x5]
 *     [--warm 100] [--switch 100,200,300,500] [--only sizes,fleet,replan,warm,threads,switch,pv,horizon,reserve,large,presolve]
 *     [--large 1000] [--large-pairs 3] [--large-wasm true] [--glpk-limit 3600]
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { baselineSchedule } from '../optimizer/baseline.js';
import { buildLp } from '../optimizer/build.js';
import { randomProblem } from '../optimizer/generate.js';
import {
  algorithmFor,
  checkSchedule,
  findCbc,
  IPM_MIN_COLUMNS,
  JSL_MAX_SIZE,
  jslSize,
  type LpModel,
  NATIVE_MIN_COLUMNS,
  optimize,
  PRESOLVE_MIN_COLUMNS,
  type ProblemInput,
  parseProblem,
  planFleet,
  SOLVERS,
  SolveWorker,
  scheduleCost,
} from '../optimizer/index.js';
import { toMps } from '../optimizer/lp.js';
import type { SolveOptions } from '../optimizer/solver.js';
import { PersistentHighs } from '../optimizer/solvers/highs.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10,100,1000' },
    repeat: { type: 'string', default: '5' },
    fleet: { type: 'string', default: '100x10' },
    replan: { type: 'string', default: '1000x5' },
    warm: { type: 'string', default: '100' },
    switch: { type: 'string', default: '100,200,300,500' },
    only: {
      type: 'string',
      default: 'sizes,fleet,replan,warm,threads,switch,pv,horizon,reserve,large,presolve',
    },
    presolve: { type: 'string', default: '1,10,30,100,200' },
    large: { type: 'string', default: '1000' },
    'large-pairs': { type: 'string', default: '3' },
    'large-wasm': { type: 'string', default: 'true' },
    'glpk-limit': { type: 'string', default: '3600' },
  },
});
const ONLY = new Set(args.only.split(','));
const REPEAT = Number(args.repeat);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
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
  /** One Float64Array field of every LP, one after the other. */
  const joined = (field: 'colCost' | 'colLower' | 'colUpper' | 'rowLower' | 'rowUpper' | 'values') => {
    const out = new Float64Array(lps.reduce((n, lp) => n + lp[field].length, 0));
    let at = 0;
    for (const lp of lps) {
      out.set(lp[field], at);
      at += lp[field].length;
    }
    return out;
  };
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
    colCost: joined('colCost'),
    colLower: joined('colLower'),
    colUpper: joined('colUpper'),
    rowLower: joined('rowLower'),
    rowUpper: joined('rowUpper'),
    starts: Int32Array.from(starts),
    indices: Int32Array.from(indices),
    values: joined('values'),
  };
}

const site = (seed: number, assets: number) =>
  buildLp(parseProblem(randomProblem(seed, { assets, negativeExport: seed % 2 === 0, peakChargePerKw: 0.1 })))
    .lp;

await SOLVERS.highs.solve(site(0, 1)); // load the WebAssembly runtime outside the timings

/** A ±3 % change of the import prices (k selects the change), as a re-plan would see. */
const nudge = (input: ProblemInput, k: number): ProblemInput => ({
  ...input,
  prices: {
    import: input.prices.import.map((p, t) => p * (1 + 0.03 * Math.sin(k + t))),
    export: input.prices.export,
  },
});

if (ONLY.has('sizes')) {
  console.log(
    `\n1. One site, 96 slots, mixed assets: cold solve (default algorithm) and warm re-plan after a ±3 % price change (median of ${REPEAT}; 1,000 assets once)`,
  );
  console.log('assets | columns | rows | build | cold | algorithm | warm | jsl | HiGHS/jsl | objective gap');
  for (const n of args.sizes.split(',').map(Number)) {
    const input = randomProblem(n, { assets: n, negativeExport: n % 2 === 0, peakChargePerKw: 0.1 });
    const builds: number[] = [];
    const lpOf = (i: ProblemInput) => {
      const t0 = performance.now();
      const { lp } = buildLp(parseProblem(i));
      builds.push(performance.now() - t0);
      return lp;
    };
    const lp = lpOf(input);
    const repeat = n >= 1000 ? 1 : REPEAT;
    const cold = await timeSolve('highs', lp, repeat);
    const persistent = new PersistentHighs();
    await persistent.solve(lp);
    const warm: number[] = [];
    for (let k = 1; k <= repeat; k++) {
      const w = await persistent.solve(lpOf(nudge(input, k)));
      if (!persistent.warm || w.status !== 'optimal') throw new Error('expected a warm optimal re-plan');
      warm.push(w.solveMs);
    }
    persistent.dispose();
    let jslCell = `refused (size ${jslSize(lp)})`;
    let ratio = '';
    let gap = '';
    if (jslSize(lp) <= JSL_MAX_SIZE) {
      const j = await timeSolve('jsl', lp, Math.min(repeat, 3));
      jslCell = ms(j.ms);
      ratio = (cold.ms / j.ms).toFixed(3);
      gap = (Math.abs(j.objective - cold.objective) / Math.max(1, Math.abs(cold.objective))).toExponential(1);
    }
    console.log(
      `${n} | ${lp.numCols} | ${lp.numRows} | ${ms(median(builds))} | ${ms(cold.ms)} | ${algorithmFor(lp.numCols)} | ${ms(median(warm))} | ${jslCell} | ${ratio} | ${gap}`,
    );
  }
}

if (ONLY.has('switch')) {
  console.log(`\n6. Simplex vs interior point by size (HiGHS; median of ${Math.min(REPEAT, 3)})`);
  console.log(
    `assets | columns | simplex | ipm | ipm/simplex | auto picks (IPM_MIN_COLUMNS = ${IPM_MIN_COLUMNS})`,
  );
  for (const n of args.switch.split(',').map(Number)) {
    const lp = site(n, n);
    const repeat = n >= 1000 ? 1 : Math.min(REPEAT, 3);
    const simplex = await timeSolve('highs', lp, repeat, { algorithm: 'simplex' });
    const ipm = await timeSolve('highs', lp, repeat, { algorithm: 'ipm' });
    console.log(
      `${n} | ${lp.numCols} | ${ms(simplex.ms)} | ${ms(ipm.ms)} | ${(ipm.ms / simplex.ms).toFixed(2)} | ${algorithmFor(lp.numCols)}`,
    );
  }
}

const [fleetSites, fleetAssets] = args.fleet.split('x').map(Number) as [number, number];
if (ONLY.has('fleet')) {
  console.log(
    `\n2. Fleet of ${fleetSites} sites × ${fleetAssets} assets: per site vs one monolithic LP (HiGHS)`,
  );
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
if (ONLY.has('replan')) {
  console.log(
    `\n3. Re-plan of ${replanSites} sites × ${replanAssets} assets, one thread (HiGHS, build + solve)`,
  );
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
if (ONLY.has('warm')) {
  console.log(
    `\n4. Re-plan of one ${warmAssets}-asset site after a ±3 % price change: cold vs warm (median of ${REPEAT})`,
  );
  const input = randomProblem(7000, { assets: warmAssets });
  const nudged = (k: number) => buildLp(parseProblem(nudge(input, k))).lp;
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
if (ONLY.has('threads')) {
  console.log(
    `\n5. Re-plan of ${replanSites} sites × ${replanAssets} assets over ${cores} solver threads (build on the main thread)`,
  );
  const workers = Array.from({ length: cores }, () => new SolveWorker());
  const fleet = (k: number) =>
    Array.from({ length: replanSites }, (_, i) => {
      const input = randomProblem(5000 + i, {
        assets: replanAssets,
        negativeExport: i % 2 === 0,
        peakChargePerKw: 0.1,
      });
      return { site: `site-${i}`, problem: parseProblem(k === 0 ? input : nudge(input, k)) };
    });
  await Promise.all(workers.map((w) => w.solve(site(0, 1), 'highs'))); // start the threads outside the timing
  for (const [label, k, warm, depth] of [
    ['cold, one site at a time per thread (before: depth 1)', 0, false, 1],
    ['cold, pipelined (depth 2)', 0, false, 2],
    ['cold, one site at a time per thread (before: depth 1), again', 0, false, 1],
    ['cold, pipelined (depth 2), again', 0, false, 2],
    ['warm, first pass (models loaded)', 0, true, 2],
    ['warm, after a ±3 % price change', 1, true, 2],
  ] as const) {
    const sites = fleet(k);
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const results = await planFleet(sites, workers, { warm, depth });
    const wall = performance.now() - t0;
    const u = process.cpuUsage(u0);
    const bad = results.filter((r) => r.status !== 'optimal').length;
    console.log(
      `${label}: ${ms(wall)}, CPU ${((u.user + u.system) / 1e6).toFixed(2)} s over all threads${bad ? ` (${bad} not optimal)` : ''} (load ${load()})`,
    );
  }
  await Promise.all(workers.map((w) => w.close()));
}

const kwh = (xs: number[], dt: number) => xs.reduce((a, b) => a + b, 0) * dt;

if (ONLY.has('pv')) {
  console.log('\n7. PV surplus with negative export prices (10 assets, PV × 4, HiGHS)');
  const input = randomProblem(8000, { assets: 10, negativeExport: true });
  const pvKw = input.pvKw.map((v) => 4 * v);
  const p = parseProblem({ ...input, pvKw });
  const r = await optimize(p, SOLVERS.highs);
  if (r.status !== 'optimal') throw new Error(`PV case: ${r.status}`);
  const s = r.schedule!;
  const dt = p.slotMinutes / 60;
  const negative = p.prices.export.map((v, t) => (v < 0 ? t : -1)).filter((t) => t >= 0);
  const exportedWhenNegative = kwh(
    negative.map((t) => s.exportKw[t]!),
    dt,
  );
  console.log(
    `solve ${ms(r.timing.solveMs)}; PV available ${kwh(pvKw, dt).toFixed(1)} kWh, used ${kwh(s.pvUsedKw, dt).toFixed(1)}, curtailed ${(kwh(pvKw, dt) - kwh(s.pvUsedKw, dt)).toFixed(1)}; exported ${kwh(s.exportKw, dt).toFixed(1)} kWh (${exportedWhenNegative.toFixed(3)} kWh in the ${negative.length} slots with a negative export price)`,
  );
  console.log(
    `cost ${r.objective!.toFixed(2)} vs baseline ${r.baselineCost.toFixed(2)} (savings ${r.savings!.toFixed(2)}); checker: ${checkSchedule(p, s).violations.length} violations`,
  );
}

if (ONLY.has('horizon')) {
  console.log(
    `\n8. Multi-resolution horizon (16 quarter-hours, then hourly decisions) vs full resolution, 100 assets (median of ${REPEAT})`,
  );
  console.log(
    'seed | columns full → multi | rows | solve full | solve multi | cost gap | share of savings lost',
  );
  for (const seed of [9001, 9002, 9003]) {
    const input = randomProblem(seed, { assets: 100, negativeExport: seed % 2 === 0, peakChargePerKw: 0.1 });
    const full = parseProblem(input);
    const multi = parseProblem({ ...input, resolution: { fineSlots: 16, coarseFactor: 4 } });
    const a = buildLp(full).lp;
    const b = buildLp(multi).lp;
    const fa = await timeSolve('highs', a, REPEAT);
    const fb = await timeSolve('highs', b, REPEAT);
    const base = scheduleCost(full, baselineSchedule(full)).total;
    console.log(
      `${seed} | ${a.numCols} → ${b.numCols} | ${a.numRows} → ${b.numRows} | ${ms(fa.ms)} | ${ms(fb.ms)} | ${(((fb.objective - fa.objective) / Math.abs(fa.objective)) * 100).toFixed(2)} % | ${(((fb.objective - fa.objective) / (base - fa.objective)) * 100).toFixed(1)} %`,
    );
  }
}

if (ONLY.has('reserve')) {
  console.log(
    '\n9. Cost of holding a reservation: 3 kW up and 2 kW down, 8:00–16:00, held 75 min (10 assets)',
  );
  for (const seed of [9101, 9102, 9103]) {
    const input = randomProblem(seed, { assets: 10 });
    const T = input.prices.import.length;
    const during = (kw: number) => Array.from({ length: T }, (_, t) => (t >= 32 && t < 64 ? kw : 0));
    const free = await optimize(parseProblem(input), SOLVERS.highs);
    const p = parseProblem({
      ...input,
      reservations: [
        { id: 'up', upKw: during(3), sustainMinutes: 75 },
        { id: 'down', downKw: during(2), sustainMinutes: 75 },
      ],
    });
    const held = await optimize(p, SOLVERS.highs);
    if (held.status !== 'optimal') {
      console.log(`${seed}: ${held.status} (${held.message ?? ''})`);
      continue;
    }
    console.log(
      `${seed}: cost ${free.objective!.toFixed(3)} → ${held.objective!.toFixed(3)} (holding costs ${(held.objective! - free.objective!).toFixed(3)}); LP ${free.size.columns}×${free.size.rows} → ${held.size.columns}×${held.size.rows}; solve ${ms(free.timing.solveMs)} → ${ms(held.timing.solveMs)}; checker ${checkSchedule(p, held.schedule!).violations.length} violations`,
    );
  }
}

/** CPU seconds of this process's finished children (fields cutime + cstime of /proc/self/stat). */
function childCpuS(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // clock ticks, 100 per second on Linux
  } catch {
    return Number.NaN;
  }
}

/** CBC's binary solution file (`saveSolution`): rows, columns, objective, then the arrays. */
function cbcSolution(file: string, numRows: number): { objective: number; x: Float64Array } {
  const b = readFileSync(file);
  const cols = b.readInt32LE(4);
  const x = new Float64Array(cols);
  for (let j = 0; j < cols; j++) x[j] = b.readDoubleLE(16 + 16 * numRows + 8 * j);
  return { objective: b.readDoubleLE(8), x };
}

if (ONLY.has('large')) {
  const n = Number(args.large);
  const pairs = Number(args['large-pairs']);
  const cbc = findCbc();
  console.log(
    `\n10. One ${n}-asset site (96 slots): our large-site path vs CBC's default on the same LP (MPS), alternated ${pairs}×; GLPK's objective (load ${load()})`,
  );
  const input = randomProblem(n, { assets: n, negativeExport: n % 2 === 0, peakChargePerKw: 0.1 });
  const { lp } = buildLp(parseProblem(input));
  console.log(
    `LP: ${lp.numCols} columns, ${lp.numRows} rows, ${lp.values.length} nonzeros; auto uses the native path from ${NATIVE_MIN_COLUMNS} columns; cbc: ${cbc ?? 'not installed'}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gridflex-bench-'));
  const run = promisify(execFile);
  try {
    const mps = join(dir, 'site.mps');
    writeFileSync(mps, toMps(lp));
    const ours: number[] = [];
    const oursCpu: number[] = [];
    const ref: number[] = [];
    const refCpu: number[] = [];
    let oursObjective = Number.NaN;
    let refObjective = Number.NaN;
    let engine = '';
    for (let k = 0; k < pairs; k++) {
      if (cbc) {
        // The reference: CBC as a user would run it on the LP file (its default: dual simplex).
        const c0 = childCpuS();
        const t0 = performance.now();
        await run(cbc, [mps, 'solve', 'saveSolution', join(dir, 'ref.bin')], { maxBuffer: 1 << 26 });
        ref.push(performance.now() - t0);
        refCpu.push(childCpuS() - c0);
        refObjective = cbcSolution(join(dir, 'ref.bin'), lp.numRows).objective + lp.offset;
      }
      // Ours, from the built model: MPS written, process run, solution read back.
      const c0 = childCpuS();
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      const sol = await SOLVERS.auto.solve(lp);
      ours.push(performance.now() - t0);
      const u = process.cpuUsage(u0);
      oursCpu.push(childCpuS() - c0 + (u.user + u.system) / 1e6);
      if (sol.status !== 'optimal') throw new Error(`large site: ${sol.status} ${sol.message ?? ''}`);
      oursObjective = sol.objective!;
      engine = sol.engine ?? 'highs';
      console.log(
        `pair ${k + 1}: ours (${engine}) ${ms(ours[k]!)}${cbc ? `, CBC default ${ms(ref[k]!)}, ratio ${(ours[k]! / ref[k]!).toFixed(2)}` : ''} (load ${load()})`,
      );
    }
    let wasm: { ms: number; objective: number } | null = null;
    if (args['large-wasm'] === 'true') {
      const t0 = performance.now();
      const w = await SOLVERS.highs.solve(lp);
      if (w.status !== 'optimal') throw new Error(`HiGHS: ${w.status}`);
      wasm = { ms: performance.now() - t0, objective: w.objective! };
      console.log(
        `HiGHS WebAssembly (default, ${algorithmFor(lp.numCols)}): ${ms(wasm.ms)} (load ${load()})`,
      );
    }
    let glpk: { objective: number; ms: number } | null = null;
    try {
      const out = join(dir, 'glpk.sol');
      const t0 = performance.now();
      await run('glpsol', ['--freemps', mps, '--tmlim', args['glpk-limit'], '--write', out], {
        maxBuffer: 1 << 26,
      });
      const line = readFileSync(out, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('s '));
      const [, , , , prim, , obj] = (line ?? '').split(/\s+/);
      if (prim === 'f') glpk = { objective: Number(obj) + lp.offset, ms: performance.now() - t0 };
      else console.log(`GLPK: no optimal solution within ${args['glpk-limit']} s (status ${prim})`);
    } catch (err) {
      console.log(`GLPK: not run (${(err as Error).message.split('\n')[0]})`);
    }
    const gap = (v: number) =>
      glpk ? (Math.abs(v - glpk.objective) / Math.max(1, Math.abs(glpk.objective))).toExponential(1) : 'n/a';
    console.log('solver | wall (median) | CPU s (median) | objective | gap to GLPK');
    console.log(
      `ours: ${engine === 'cbc' ? 'native CBC/CLP barrier + crossover (child process)' : engine} | ${ms(median(ours))} | ${median(oursCpu).toFixed(2)} | ${oursObjective.toFixed(6)} | ${gap(oursObjective)}`,
    );
    if (cbc)
      console.log(
        `reference: cbc default (dual simplex) | ${ms(median(ref))} | ${median(refCpu).toFixed(2)} | ${refObjective.toFixed(6)} | ${gap(refObjective)}`,
      );
    if (wasm)
      console.log(
        `HiGHS WebAssembly (the always-available default) | ${ms(wasm.ms)} | | ${wasm.objective.toFixed(6)} | ${gap(wasm.objective)}`,
      );
    if (glpk)
      console.log(`GLPK glpsol (objective reference) | ${ms(glpk.ms)} | | ${glpk.objective.toFixed(6)} |`);
    if (cbc)
      console.log(
        `ours / CBC: wall ${(median(ours) / median(ref)).toFixed(2)}, CPU ${(median(oursCpu) / median(refCpu)).toFixed(2)}${wasm ? `; HiGHS WebAssembly / CBC wall ${(wasm.ms / median(ref)).toFixed(2)}` : ''} (target ≤ 1.0; load ${load()})`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (ONLY.has('presolve')) {
  console.log(
    `\n11. HiGHS dual simplex without / with presolve (CPU per solve, alternated; presolve 'auto' turns it off below ${PRESOLVE_MIN_COLUMNS} columns; load ${load()})`,
  );
  console.log('assets | columns | sites | presolve off | presolve on | off/on | objective gap');
  for (const n of args.presolve.split(',').map(Number)) {
    const count = Math.max(2, Math.round(40 / Math.max(1, n / 5)));
    const lps = Array.from({ length: Math.min(count, 40) }, (_, i) => site(600 + i, n));
    const cpu = { off: 0, on: 0 };
    const sum = { off: 0, on: 0 };
    for (let round = 0; round < 2; round++)
      for (const mode of ['off', 'on'] as const) {
        const u0 = process.cpuUsage();
        let s = 0;
        // presolve 'auto' below the threshold is presolve off; the default keeps HiGHS' presolve.
        for (const lp of lps)
          s += (await SOLVERS.highs.solve(lp, mode === 'off' ? { presolve: 'auto' } : {})).objective!;
        const u = process.cpuUsage(u0);
        cpu[mode] += (u.user + u.system) / 1000 / lps.length / 2;
        sum[mode] = s;
      }
    console.log(
      `${n} | ${lps[0]!.numCols} | ${lps.length} | ${ms(cpu.off)} | ${ms(cpu.on)} | ${(cpu.off / cpu.on).toFixed(2)} | ${(Math.abs(sum.off - sum.on) / Math.max(1, Math.abs(sum.on))).toExponential(1)}`,
    );
  }
}
