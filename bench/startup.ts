/**
 * Start-up and short commands, as a user runs them (child processes of bin/gridflex.mjs), each
 * beside its reference from the same run:
 *  - fresh `npm start` (gridflex demo on an empty data folder) → first 200 from /health, and a
 *    restart on the same folder, against a bare fastify app answering /health;
 *  - the same fresh start from the TypeScript sources (GRIDFLEX_FROM_SOURCE=1: tsx, no database
 *    template), which is how every start ran before;
 *  - `gridflex bill` for one month (the bundled zev-bern readings, HTML) against the same billing
 *    in-process (read, parse, bill into the ledger on an open store, render), and against the
 *    allocation and billing alone (billPeriod);
 *  - `gridflex --help`.
 * Medians of --repeat runs; the CPU seconds a child used until ready are printed beside the wall
 * time (on a loaded machine they stay near the idle wall time, the wall time does not).
 *
 *   npx tsx bench/startup.ts [--repeat 3] [--skip-sources] [--only start,bill,help]
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { loadConfigFile } from '../config/load.js';
import {
  billHtml,
  billPeriod,
  CommunitySchema,
  compileCommunity,
  issueBills,
  Ledger,
  monthPeriod,
  parseReadingsCsv,
} from '../ledger/index.js';
import { openStore } from '../store/index.js';
import { descendantPids, processRunning } from '../testkit/process.js';

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    'skip-sources': { type: 'boolean', default: false },
    only: { type: 'string', default: 'start,bill,help' },
  },
});
const only = new Set(values.only.split(','));
const repeat = Number(values.repeat);
const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin/gridflex.mjs');
const COMMUNITY = join(root, 'deploy/examples/zev-bern-community.yaml');
const READINGS = join(root, 'deploy/examples/zev-bern-readings.csv.gz');
const PERIOD = '2026-10';
const HZ = 100; // Linux clock ticks per second in /proc/<pid>/stat

const load = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a live process has used, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return Number.NaN;
  }
}

interface Ready {
  ms: number;
  cpu: number;
  child: ChildProcess;
}

/** Spawn a server and poll /health until it answers 200. */
async function untilHealthy(args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Ready> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: '', GRIDFLEX_FROM_SOURCE: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${args.join(' ')} exited before /health answered:\n${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) {
        const ms = performance.now() - t0;
        return { ms, cpu: cpuSeconds(child.pid!), child };
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stop a server and wait until it and every process it started have ended, so the next run starts on an idle machine. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const tree = descendantPids(child.pid!);
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await done;
  clearTimeout(timer);
  const deadline = Date.now() + 30_000;
  while (tree.some(processRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

const BARE = `
const { default: Fastify } = await import('fastify');
const app = Fastify();
app.get('/health', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.argv[1]), host: '127.0.0.1' });
`;

async function bare(): Promise<Ready> {
  const port = await freePort();
  const r = await untilHealthy(['--input-type=module', '-e', BARE, String(port)], port);
  await stop(r.child);
  return r;
}

/** Fresh start on an empty data folder, then a restart on it. */
async function demo(fromSources: boolean): Promise<{ fresh: Ready; restart: Ready | null }> {
  const data = mkdtempSync(join(tmpdir(), 'gfx-bench-start-'));
  try {
    const port = await freePort();
    const sim = await freePort();
    const args = [BIN, 'demo', '--port', String(port), '--data', data, '--sim-port-base', String(sim)];
    const env = fromSources ? { GRIDFLEX_FROM_SOURCE: '1' } : {};
    const fresh = await untilHealthy(args, port, env);
    await stop(fresh.child);
    if (fromSources) return { fresh, restart: null };
    const restart = await untilHealthy(args, port, env);
    await stop(restart.child);
    return { fresh, restart };
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

/** Run a short command to its end: wall ms, and CPU and peak memory from /usr/bin/time when installed. */
function command(args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; cpu: number; rssMb: number } {
  const time = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const run = spawnSync(
    time ? '/usr/bin/time' : process.execPath,
    time ? ['-f', 'TIME %U %S %M', process.execPath, BIN, ...args] : [BIN, ...args],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '', GRIDFLEX_FROM_SOURCE: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const out = run.stderr.toString();
  if (run.status !== 0) throw new Error(`gridflex ${args.join(' ')} failed:\n${out}`);
  const ms = performance.now() - t0;
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(out);
  return m
    ? { ms, cpu: Number(m[1]) + Number(m[2]), rssMb: Number(m[3]) / 1024 }
    : { ms, cpu: Number.NaN, rssMb: Number.NaN };
}

function bill(env: NodeJS.ProcessEnv = {}): { ms: number; cpu: number; rssMb: number } {
  const dir = mkdtempSync(join(tmpdir(), 'gfx-bench-bill-'));
  try {
    return command(
      [
        'bill',
        '--community',
        COMMUNITY,
        '--readings',
        READINGS,
        '--period',
        PERIOD,
        '--format',
        'html',
        '--out',
        join(dir, 'bills'),
        '--data',
        join(dir, 'data'),
      ],
      env,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same command on the PostgreSQL server (TEST_DATABASE_URL), in a schema of its own: no PGlite start. */
async function billOnServer(url: string): Promise<{ ms: number; cpu: number; rssMb: number }> {
  const schema = `bench_start_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    return bill({ DATABASE_URL: scoped.toString() });
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

/** The same month billed in this process: on a store that is already open, no process start. */
async function billInProcess(): Promise<{ full: number; pure: number }> {
  const store = await openStore({ dataDir: 'memory://' });
  try {
    const t0 = performance.now();
    const config = await loadConfigFile(CommunitySchema, COMMUNITY);
    const community = compileCommunity(config);
    const period = monthPeriod(PERIOD, community.tz);
    const batch = parseReadingsCsv(gunzipSync(readFileSync(READINGS)).toString('utf8'));
    const t1 = performance.now();
    billPeriod(community, period, batch);
    const pure = performance.now() - t1;
    const result = await issueBills(await Ledger.open(store), community, period, batch);
    for (const b of result.bills) billHtml(b, community.tz);
    return { full: performance.now() - t0, pure };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
const { staleReason } = await import(join(root, 'bin/freshness.mjs'));
const stale = staleReason(root);
if (stale) {
  console.log(`dist/ is stale (${stale}): npm run build first`);
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
}
console.log(`startup bench: ${repeat} runs each, medians; load average at start ${load()} (2 cores)`);

const bares: Ready[] = [];
const fresh: Ready[] = [];
const restarts: Ready[] = [];
for (let i = 0; i < repeat; i++) {
  bares.push(await bare());
  if (!only.has('start')) continue;
  const d = await demo(false);
  fresh.push(d.fresh);
  restarts.push(d.restart!);
}
const ref = median(bares.map((r) => r.ms));
const row = (label: string, runs: Ready[]) => {
  const ms = median(runs.map((r) => r.ms));
  console.log(
    `  ${label.padEnd(44)} ${s(ms).padStart(8)}  ${(ms / ref).toFixed(1).padStart(5)}× bare  (cpu ${median(runs.map((r) => r.cpu)).toFixed(2)} s, load ${load()})`,
  );
};
console.log('/health answered (spawn → first 200):');
row('bare fastify app (reference)', bares);
if (only.has('start')) {
  row('fresh npm start (gridflex demo, built, template)', fresh);
  row('restart on the same data folder', restarts);
}
if (only.has('start') && !values['skip-sources']) {
  const before = await demo(true);
  row('fresh start from sources (tsx, no template; 1 run)', [before.fresh]);
}

if (only.has('bill')) {
  const inProc: { full: number; pure: number }[] = [];
  for (let i = 0; i < repeat; i++) inProc.push(await billInProcess());
  const bills = Array.from({ length: repeat }, () => bill());
  const full = median(inProc.map((r) => r.full));
  const billMs = median(bills.map((b) => b.ms));
  console.log(`gridflex bill ${PERIOD} (zev-bern, HTML, fresh data folder):`);
  console.log(
    `  in-process billing (parse, bill into ledger, render)   ${s(full).padStart(8)}  (allocation + billing alone ${s(median(inProc.map((r) => r.pure)))}, load ${load()})`,
  );
  console.log(
    `  gridflex bill                                           ${s(billMs).padStart(8)}  ${(billMs / full).toFixed(1).padStart(5)}× in-process (target ≤ 2)  (cpu ${median(bills.map((b) => b.cpu)).toFixed(2)} s, peak ${median(bills.map((b) => b.rssMb)).toFixed(0)} MB, load ${load()})`,
  );
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const onServer: { ms: number; cpu: number; rssMb: number }[] = [];
    for (let i = 0; i < repeat; i++) onServer.push(await billOnServer(url));
    const ms = median(onServer.map((b) => b.ms));
    console.log(
      `  gridflex bill on PostgreSQL (DATABASE_URL)              ${s(ms).padStart(8)}  ${(ms / full).toFixed(1).padStart(5)}× in-process  (cpu ${median(onServer.map((b) => b.cpu)).toFixed(2)} s, peak ${median(onServer.map((b) => b.rssMb)).toFixed(0)} MB, load ${load()})`,
    );
  } else console.log('  gridflex bill on PostgreSQL: skipped (set TEST_DATABASE_URL)');
}

if (only.has('help')) {
  const helps = Array.from({ length: repeat }, () => command(['--help']));
  const helpMs = median(helps.map((h) => h.ms));
  console.log(
    `gridflex --help                                           ${s(helpMs).padStart(8)}  ${(helpMs / ref).toFixed(1).padStart(5)}× bare fastify start  (cpu ${median(helps.map((h) => h.cpu)).toFixed(2)} s, load ${load()})`,
  );
}
