/**
 * The live optimiser's LP solved through the job queue (app/queue-solver.ts, `uplink.workers`)
 * against the solver thread it replaces (`SolveWorker`), on the same site LPs, alternated:
 * wall time per solve from central's side (p50, p95, max), and the job's size in PostgreSQL.
 * The worker is a child process running the `gridflex worker` loop (`workReplans`, idle wait
 * 500 ms as the command's), on a pg-boss schema of its own.
 *
 *   npx tsx bench/queue-solver.ts [--solves 30] [--assets 5] [--slots 144] [--poll 100]
 *
 * Needs DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { QueueSolver } from '../app/queue-solver.js';
import { openReplanQueue, workReplans } from '../app/uplink.js';
import { buildLp } from '../optimizer/build.js';
import { randomProblem } from '../optimizer/generate.js';
import { parseProblem, SolveWorker } from '../optimizer/index.js';
import { lpToWire, solutionToWire } from '../optimizer/lp-wire.js';

const { values: args } = parseArgs({
  options: {
    solves: { type: 'string', default: '30' },
    assets: { type: 'string', default: '5' },
    slots: { type: 'string', default: '144' },
    poll: { type: 'string', default: '100' },
    role: { type: 'string' },
    schema: { type: 'string' },
  },
});

const DB = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!DB) {
  console.error('bench/queue-solver needs DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server)');
  process.exit(2);
}
const QUEUE = 'bench-lp';

if (args.role === 'worker') {
  const queue = await openReplanQueue({ url: DB, schema: args.schema!, queue: QUEUE });
  const stop = new AbortController();
  process.on('message', () => stop.abort());
  process.send!({ ready: true });
  await workReplans(queue, { signal: stop.signal });
  await queue.close();
  process.exit(0);
}

const schema = `pgboss_bench_${randomBytes(4).toString('hex')}`;
const n = Number(args.solves);
const lps = Array.from(
  { length: n },
  (_, i) =>
    buildLp(parseProblem(randomProblem(100 + i, { assets: Number(args.assets), slots: Number(args.slots) })))
      .lp,
);
const child = fork(new URL(import.meta.url).pathname, ['--role', 'worker', '--schema', schema], {
  execArgv: ['--import', 'tsx'],
});
await new Promise<void>((r) => child.once('message', () => r()));
const solver = await QueueSolver.open({ url: DB, schema, queue: QUEUE, pollMs: Number(args.poll) });
const thread = new SolveWorker();
const ms = { thread: [] as number[], queue: [] as number[] };
let gap = 0;
try {
  for (const [i, lp] of lps.entries()) {
    // Alternated, so both see the same load; pauses of varied length between (a live loop's
    // re-plans come at any point of the worker's idle wait).
    let t = performance.now();
    const a = await thread.solve(lp, 'highs', { site: `s${i}` });
    ms.thread.push(performance.now() - t);
    t = performance.now();
    const b = await solver.solve(lp, 'highs', { site: `s${i}` });
    ms.queue.push(performance.now() - t);
    gap = Math.max(gap, Math.abs(a.objective! - b.objective!) / Math.max(1, Math.abs(a.objective!)));
    await new Promise((r) => setTimeout(r, 100 + ((i * 389) % 1000)));
  }
  const wire = JSON.stringify(lpToWire(lps[0]!)).length;
  const answer = JSON.stringify(solutionToWire(await thread.solve(lps[0]!, 'highs'))).length;
  const q = (xs: number[], p: number) =>
    [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(8)} p50 ${q(xs, 0.5).toFixed(0).padStart(5)} ms  p95 ${q(xs, 0.95).toFixed(0).padStart(5)} ms  max ${Math.max(
      ...xs,
    )
      .toFixed(0)
      .padStart(5)} ms`;
  console.log(
    `${n} site LPs (${args.assets} assets × ${args.slots} slots, ${lps[0]!.numCols} columns), poll ${args.poll} ms, load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(row('thread', ms.thread));
  console.log(row('queue', ms.queue));
  console.log(
    `queue − thread, p50 ${(q(ms.queue, 0.5) - q(ms.thread, 0.5)).toFixed(0)} ms; largest objective gap ${gap.toExponential(1)}`,
  );
  console.log(
    `job data ${(wire / 1024).toFixed(1)} KB (LP, deflated + base64), answer ${(answer / 1024).toFixed(1)} KB`,
  );
} finally {
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  await solver.close();
  await thread.close();
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}
