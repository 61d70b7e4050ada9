/**
 * Durability of readings across a PostgreSQL outage, with the gateway as a real process:
 *
 * 1. `gridflex gateway` polls a simulated SDM630 (Modbus TCP, 100 ms) into PostgreSQL through
 *    a TCP proxy; the proxy cuts the server (the outage starts).
 * 2. Half-way through the outage the gateway is killed with SIGKILL, then started again while
 *    the store is still down (it must poll and spool instead of exiting).
 * 3. The outage ends; the restarted gateway replays its spool and is stopped with SIGINT.
 *
 * Printed per run: readings produced, stored and lost. Run 1 (killed): lost = the polls after
 * the newest stored reading up to the kill. Run 2 (stopped cleanly): produced is the
 * gateway's own count. Polls skipped under load (gaps in the 100 ms schedule) are listed
 * apart: they were never produced. Duplicates: rows sharing (point, ts). Target: at most
 * 1 s of readings lost, 0 duplicated.
 *
 *   npx tsx bench/durability.ts [--outage 60] [--url postgres://…]   (kill -9 at half the outage)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCli } from '../cli/testing.js';
import { sdm630Image, startModbusTcp } from '../gateway/testing.js';
import { scratchBehindOutageProxy } from '../store/testing.js';

const { values: args } = parseArgs({
  options: {
    outage: { type: 'string', default: '60' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const OUTAGE_MS = Number(args.outage) * 1000;
const POLL_MS = 100;
const POINTS = ['power', 'voltage_l1'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

async function stored(url: string): Promise<Map<string, number[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query<{ key: string; t: number }>(
      `SELECT p.key, (extract(epoch FROM r.ts) * 1000)::float8 AS t FROM readings r
       JOIN points p ON p.id = r.point_id ORDER BY p.key, r.ts`,
    );
    const out = new Map<string, number[]>();
    for (const r of res.rows) out.set(r.key, [...(out.get(r.key) ?? []), r.t]);
    return out;
  } catch {
    return new Map();
  } finally {
    await c.end();
  }
}

const dev = await startModbusTcp(sdm630Image());
const { url: viaProxy, scratch, proxy } = await scratchBehindOutageProxy(args.url);
const data = await mkdtemp(join(tmpdir(), 'gfx-durability-'));
const config = join(data, 'gateway.json');
await writeFile(
  config,
  JSON.stringify({
    site: 'bench',
    devices: [
      {
        id: 'meter',
        protocol: 'modbus',
        profile: 'sdm630',
        pollInterval: `${POLL_MS}ms`,
        connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
        points: POINTS.map((id) => ({ id, kind: id === 'power' ? 'active_power' : 'voltage' })),
      },
    ],
  }),
);
const cli = ['gateway', '--config', config, '--data', data];
const env = { DATABASE_URL: viaProxy };
const running = /Gridflex gateway is running/;

console.log(
  `durability benchmark: ${POINTS.length} points every ${POLL_MS} ms, outage ${OUTAGE_MS / 1000} s, ${load()}`,
);
try {
  const first = await startCli(cli, running, env, 180_000);
  while (((await stored(scratch.url)).get('bench/meter/power') ?? []).length < 10) await sleep(200);
  proxy.cut();
  const cutAt = Date.now();
  await sleep(OUTAGE_MS / 2);
  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('close', r));
  const second = await startCli(cli, running, env, 180_000);
  const startedAt = Date.now();
  // The restarted gateway runs at least half the outage without a store, however long it took to start.
  await sleep(Math.max(OUTAGE_MS / 2, cutAt + OUTAGE_MS - Date.now()));
  proxy.restore();
  const restoredAt = Date.now();
  while (!((await stored(scratch.url)).get('bench/meter/power') ?? []).some((t) => t > restoredAt + 2000))
    await sleep(200);
  await second.stop();
  const summary = second.output().match(/stopped: .*/)?.[0] ?? '(no summary)';

  const all = await stored(scratch.url);
  const inRun = (from: number, to: number) =>
    POINTS.map((p) => (all.get(`bench/meter/${p}`) ?? []).filter((t) => t >= from && t < to));
  // Polls the gateway skipped under load (an overrun) leave gaps: those readings were never produced.
  const skipped = (runs: number[][]) =>
    runs.reduce(
      (n, ts) =>
        n + ts.slice(1).reduce((m, t, k) => m + Math.max(0, Math.round((t - ts[k]!) / POLL_MS) - 1), 0),
      0,
    );
  const run1 = inRun(0, killedAt);
  const newest = Math.max(...run1.map((ts) => ts.at(-1) ?? 0));
  const tailMs = killedAt - newest;
  const stored1 = run1.reduce((n, ts) => n + ts.length, 0);
  const lost1 = Math.max(0, Math.floor(tailMs / POLL_MS)) * POINTS.length;
  console.log(
    `  run 1, kill -9 ${((killedAt - cutAt) / 1000).toFixed(1)} s into the outage: produced ≈ ${stored1 + lost1}, stored ${stored1}, ` +
      `lost ≈ ${lost1} (newest stored reading ${tailMs} ms before the kill; target ≤ 1000 ms); ${skipped(run1)} polls skipped under load`,
  );
  const run2 = inRun(killedAt, Number.MAX_SAFE_INTEGER);
  const stored2 = run2.reduce((n, ts) => n + ts.length, 0);
  const received = Number(summary.match(/(\d+) readings received/)?.[1] ?? Number.NaN);
  console.log(
    `  run 2, started with the store down (${((restoredAt - startedAt) / 1000).toFixed(1)} s before it came back), stopped with SIGINT: ` +
      `produced ${received} (the gateway's count), stored ${stored2}, lost ${received - stored2}; ${skipped(run2)} polls skipped under load`,
  );
  const dup = await new pg.Client({ connectionString: scratch.url });
  await dup.connect();
  const d = await dup.query<{ n: number }>(
    'SELECT (count(*) - count(DISTINCT (point_id, ts)))::int AS n FROM readings',
  );
  await dup.end();
  console.log(
    `  duplicated: ${d.rows[0]!.n} (replays are absorbed by the (point, ts) key); gateway at stop: ${summary}; ${load()}`,
  );
} finally {
  await proxy.close();
  await dev.stop();
  await scratch.drop();
  await rm(data, { recursive: true, force: true });
}
