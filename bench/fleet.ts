/**
 * Fleet scale-out, from one run:
 *  1. readings/s from N simulated edges (lightweight in-process MQTT publishers, QoS 1, a window
 *     of unacknowledged messages each) through Mosquitto into PostgreSQL by central ingest
 *     consumers (child processes on a shared subscription), counted when central's
 *     application-level ack (after the database commit) reaches the edge; end-to-end latency
 *     p50/p99 = publish → ack at the edge;
 *  2. the S sites × A assets re-plan through pg-boss with 1 and 2 `gridflex worker` processes.
 *
 *   npx tsx bench/fleet.ts [--edges 1000] [--seconds 20] [--per-msg 200] [--window 4]
 *     [--consumers 2] [--sites 1000] [--assets 5] [--rounds 3] [--only ingest,replan] [--broker mqtt://…]
 *
 * Needs DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server: pg-boss and the server ingest
 * path). The broker is a Mosquitto of its own on a free loopback port unless --broker is given.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { openReplanQueue, solveReplans, workReplans } from '../app/uplink.js';
import { randomProblem } from '../optimizer/generate.js';
import { openStore } from '../store/index.js';
import { CentralIngest } from '../uplink/central.js';
import { ReplanQueue } from '../uplink/jobs.js';
import { AckSchema, decode, topic } from '../uplink/protocol.js';
import { startOwnBroker } from '../uplink/testing.js';

const { values: args } = parseArgs({
  options: {
    edges: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    'per-msg': { type: 'string', default: '200' },
    window: { type: 'string', default: '4' },
    consumers: { type: 'string', default: '2' },
    sites: { type: 'string', default: '1000' },
    assets: { type: 'string', default: '5' },
    /** Re-plan rounds of each worker count, alternating 1, 2, 1, 2, …; the best of each is compared. */
    rounds: { type: 'string', default: '3' },
    /** Jobs a worker fetches at once. */
    batch: { type: 'string', default: '10' },
    only: { type: 'string', default: 'ingest,replan' },
    broker: { type: 'string' },
    role: { type: 'string' },
    schema: { type: 'string' },
    tenant: { type: 'string' },
    index: { type: 'string', default: '0' },
    queue: { type: 'string' },
    range: { type: 'string' },
  },
});

const DB = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!DB) {
  console.error('bench/fleet needs DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server)');
  process.exit(2);
}
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const scoped = (schema: string) => {
  const u = new URL(DB);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
};

// ---- child roles -------------------------------------------------------------------------
if (args.role === 'central') {
  const store = await openStore({ url: scoped(args.schema!), timescale: 'off' });
  const ingest = await CentralIngest.start({
    url: args.broker!,
    store,
    clientId: `bench-central-${args.tenant}-${args.index}`,
    group: `bench-${args.tenant}`,
    tenant: args.tenant!,
    persistent: false,
    flushReadings: 20_000,
    flushMs: 50,
  });
  process.send!({ ready: true });
  process.on('message', async () => {
    await ingest.close();
    process.send!({ status: ingest.status() });
    await store.close();
    process.exit(0);
  });
} else if (args.role === 'solo') {
  // The reference: the same problems solved by the same code with no queue, split by index.
  const [from, to] = (args.range ?? '0,0').split(',').map(Number) as [number, number];
  const problems = Array.from({ length: to - from }, (_, k) => ({
    site: `site-${from + k}`,
    data: replanProblem(from + k),
  }));
  await solveReplans([{ site: 'warm-up', data: randomProblem(1, { assets: Number(args.assets) }) }]);
  process.send!({ ready: true });
  process.once('message', async () => {
    const t0 = performance.now();
    const u0 = process.cpuUsage();
    await solveReplans(problems);
    const u = process.cpuUsage(u0);
    process.send!({ solved: problems.length, ms: performance.now() - t0, cpuMs: (u.user + u.system) / 1000 });
    process.exit(0);
  });
} else if (args.role === 'worker') {
  // Open the queue and solve one site before the clock starts: process start-up is not re-planning.
  const queue = await openReplanQueue({ url: DB, schema: args.schema!, queue: args.queue! });
  await solveReplans([{ site: 'warm-up', data: randomProblem(1, { assets: Number(args.assets) }) }]);
  process.send!({ ready: true });
  process.once('message', async () => {
    const t0 = performance.now();
    const u0 = process.cpuUsage();
    const n = await workReplans(queue, { untilEmpty: true, batchSize: Number(args.batch) });
    const u = process.cpuUsage(u0);
    process.send!({ solved: n, ms: performance.now() - t0, cpuMs: (u.user + u.system) / 1000 });
    await queue.close();
    process.exit(0);
  });
} else {
  await main();
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

function spawnRole(role: string, extra: string[]) {
  const child = fork(new URL(import.meta.url).pathname, ['--role', role, ...extra], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  child.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m as Record<string, unknown>);
    else messages.push(m as Record<string, unknown>);
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = messages.shift();
      if (m) return resolve(m);
      waiters.push(resolve);
      child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
    });
  return { child, next };
}

async function main(): Promise<void> {
  const only = new Set(args.only!.split(','));
  const schema = `bench_fleet_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DB });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  console.log(`bench/fleet — ${new Date().toISOString()}, 2-core machine, load ${load()}`);
  try {
    if (only.has('ingest')) await ingestBench(schema);
    if (only.has('replan')) await replanBench(schema);
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

async function ingestBench(schema: string): Promise<void> {
  const edges = Number(args.edges);
  const seconds = Number(args.seconds);
  const perMsg = Number(args['per-msg']);
  const window = Number(args.window);
  const consumers = Number(args.consumers);
  const tenant = `b${randomBytes(3).toString('hex')}`;
  const own = args.broker
    ? null
    : await startOwnBroker(['max_inflight_messages 100', 'max_queued_messages 10000']);
  const url = args.broker ?? own!.url;
  // Migrate once here so the consumers do not race on it.
  const store = await openStore({ url: scoped(schema), timescale: 'off' });
  await store.close();
  const centrals = Array.from({ length: consumers }, (_, i) =>
    spawnRole('central', ['--broker', url, '--schema', schema, '--tenant', tenant, '--index', String(i)]),
  );
  await Promise.all(centrals.map((c) => c.next()));

  const T0 = Date.UTC(2026, 0, 12);
  const latencies: number[] = [];
  let ackedReadings = 0;
  let measuring = false;
  let publishing = true;
  let outstanding = 0;
  const clients: MqttClient[] = [];
  const POINTS = 20;
  const sent = new Map<string, Map<number, number>>();
  type EdgeState = { seq: number; inflight: number };
  const states: { client: MqttClient; site: string; state: EdgeState }[] = [];
  let paced = false;
  const pacedLatencies: number[] = [];
  let pacedSkipped = 0;
  const pump = (client: MqttClient, site: string, state: EdgeState, once = false) => {
    while ((publishing || once) && state.inflight < window) {
      const seq = ++state.seq;
      const readings: [string, number, number, number][] = [];
      for (let j = 0; readings.length < perMsg; j++)
        for (let k = 0; k < POINTS && readings.length < perMsg; k++)
          readings.push([`d${k}/p`, T0 + (seq * Math.ceil(perMsg / POINTS) + j) * 1000, k + j, 0]);
      const now = Date.now();
      sent.get(site)!.set(seq, now);
      client.publish(
        topic({ tenant, site }, 'tele'),
        JSON.stringify({ v: 1, edge: `e-${site}`, msgId: `${site}:${seq}`, seq, ts: now, readings }),
        { qos: 1 },
      );
      state.inflight++;
      outstanding++;
      if (once) return;
    }
    if (once) pacedSkipped++;
  };
  const c0 = performance.now();
  for (let i = 0; i < edges; i++) {
    const site = `s${i}`;
    sent.set(site, new Map());
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: `bench-${tenant}-${site}`,
      clean: true,
      reconnectPeriod: 1000,
    });
    clients.push(client);
    const state = { seq: 0, inflight: 0 };
    states.push({ client, site, state });
    client.on('message', (_t, payload) => {
      const ack = decode(AckSchema, payload);
      if (!ack) return;
      const now = Date.now();
      const m = sent.get(site)!;
      for (const s of ack.seqs) {
        const at = m.get(s);
        if (at === undefined) continue;
        m.delete(s);
        state.inflight--;
        outstanding--;
        if (measuring) {
          ackedReadings += perMsg;
          latencies.push(now - at);
        }
        if (paced) pacedLatencies.push(now - at);
      }
      if (!paced) pump(client, site, state);
    });
    client.once('connect', () => {
      client.subscribe(topic({ tenant, site }, 'ack'), { qos: 1 }, () => pump(client, site, state));
    });
  }
  await Promise.all(clients.map((c) => (c.connected ? null : new Promise((r) => c.once('connect', r)))));
  console.log(
    `\n1. Telemetry: ${edges} edges × ${perMsg} readings/message, window ${window}, ${consumers} central consumer process(es), QoS 1, Mosquitto 2.0.11 (${args.broker ? args.broker : 'own instance'})`,
  );
  console.log(`   ${edges} connections in ${((performance.now() - c0) / 1000).toFixed(1)} s`);
  // Warm up 3 s (connections, point ids), then measure `seconds`.
  await new Promise((r) => setTimeout(r, 3000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const wall = (performance.now() - t0) / 1000;
  const measured = ackedReadings;
  publishing = false;
  // Drain what is in flight (bounded: 60 s).
  const drain = async () => {
    const d0 = Date.now();
    while (outstanding > 0 && Date.now() - d0 < 60_000) await new Promise((r) => setTimeout(r, 100));
  };
  await drain();
  // Latency is only meaningful below saturation (a closed loop at full speed measures its own
  // queue): every edge publishes one message per period, open loop, at half the measured rate.
  const pacedRate = Math.max(perMsg, Math.round(measured / wall / 2));
  const periodMs = (edges * perMsg * 1000) / pacedRate;
  paced = true;
  const timers2: NodeJS.Timeout[] = [];
  const timers = states.map(({ client, site, state }) => {
    const tick = () => pump(client, site, state, true);
    const start = setTimeout(() => {
      tick();
      timers2.push(setInterval(tick, periodMs));
    }, Math.random() * periodMs);
    return start;
  });
  const pacedSeconds = Math.max(10, Math.ceil((3 * periodMs) / 1000));
  await new Promise((r) => setTimeout(r, pacedSeconds * 1000));
  for (const t of timers) clearTimeout(t);
  for (const t of timers2) clearInterval(t);
  await drain();
  paced = false;
  await Promise.all(clients.map((c) => c.endAsync()));
  const statuses = await Promise.all(
    centrals.map(async (c) => {
      c.child.send('stop');
      return (await c.next()).status as { readings: number; inserted: number; duplicates: number };
    }),
  );
  await own?.close();
  const total = statuses.reduce((a, s) => a + s.readings, 0);
  const dup = statuses.reduce((a, s) => a + s.duplicates, 0);
  console.log(
    `   committed and acknowledged: ${Math.round(measured / wall).toLocaleString('en')} readings/s over ${wall.toFixed(1)} s ` +
      `(${Math.round(measured / perMsg / wall).toLocaleString('en')} messages/s); target ≥ 100,000 (load ${load()})`,
  );
  console.log(
    `   at saturation (closed loop, window ${window}): latency publish → ack p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms`,
  );
  console.log(
    `   end-to-end latency at ${pacedRate.toLocaleString('en')} readings/s (half the above, open loop, one message per edge every ${(periodMs / 1000).toFixed(1)} s, ${pacedSeconds} s): ` +
      `p50 ${quantile(pacedLatencies, 0.5)} ms, p99 ${quantile(pacedLatencies, 0.99)} ms over ${pacedLatencies.length} messages${pacedSkipped ? ` (${pacedSkipped} ticks skipped: window full)` : ''}`,
  );
  console.log(
    `   central stored ${total.toLocaleString('en')} readings in all, ${dup} duplicates absorbed, ${outstanding} unacknowledged at the end`,
  );
}

async function replanBench(schema: string): Promise<void> {
  const sites = Number(args.sites);
  const assets = Number(args.assets);
  console.log(
    `\n2. Re-plan of ${sites} sites × ${assets} assets through pg-boss 10.4.2 (one job per site, singleton key; batch ${args.batch})`,
  );
  const g0 = performance.now();
  const jobs = Array.from({ length: sites }, (_, i) => ({ site: `site-${i}`, data: replanProblem(i) }));
  console.log(`   problems generated in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  const times: Record<number, number> = {};
  const rounds = Number(args.rounds);
  const order = Array.from({ length: 2 * rounds }, (_, i) => (i % 2) + 1);
  const all: Record<number, number[]> = { 1: [], 2: [] };
  for (const [round, workers] of order.entries()) {
    // A fresh queue per round (pg-boss 10.4.2's deleteQueue fails on a queue that held jobs).
    const name = `replan-${round}`;
    const queue = await ReplanQueue.open({ url: DB!, schema, queue: name });
    try {
      const children = Array.from({ length: workers }, () =>
        spawnRole('worker', [
          '--schema',
          schema,
          '--queue',
          name,
          '--assets',
          String(assets),
          '--batch',
          String(args.batch),
        ]),
      );
      await Promise.all(children.map((c) => c.next()));
      const e0 = performance.now();
      await queue.request(jobs);
      const enqueueMs = performance.now() - e0;
      const t0 = performance.now();
      for (const c of children) c.child.send('go');
      const done = await Promise.all(children.map((c) => c.next()));
      const ms = performance.now() - t0;
      const solved = done.reduce((a, d) => a + (d.solved as number), 0);
      times[workers] = Math.min(times[workers] ?? Number.POSITIVE_INFINITY, ms);
      all[workers]!.push(ms);
      console.log(
        `   ${workers} worker process(es): ${(ms / 1000).toFixed(1)} s for ${solved} sites (enqueue ${(enqueueMs / 1000).toFixed(2)} s; per worker sites/CPU s: ${done.map((d) => `${d.solved}/${((d.cpuMs as number) / 1000).toFixed(1)}`).join(', ')}) (load ${load()})`,
      );
    } finally {
      await queue.close();
    }
  }
  console.log(
    `   2 workers / 1 worker (best of ${rounds} each): ${(times[2]! / times[1]!).toFixed(2)}× (target ≤ 0.60×); median of each: ${(median(all[2]!) / median(all[1]!)).toFixed(2)}×`,
  );
  // Reference: how this machine's two cores scale the same solves with no queue and no database.
  const solo: Record<number, number[]> = { 1: [], 2: [] };
  for (const processes of order) {
    const share = Math.ceil(sites / processes);
    const children = Array.from({ length: processes }, (_, k) =>
      spawnRole('solo', [
        '--assets',
        String(assets),
        '--sites',
        String(sites),
        '--range',
        `${k * share},${Math.min(sites, (k + 1) * share)}`,
      ]),
    );
    await Promise.all(children.map((c) => c.next()));
    const t0 = performance.now();
    for (const c of children) c.child.send('go');
    await Promise.all(children.map((c) => c.next()));
    solo[processes]!.push(performance.now() - t0);
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(
    `   reference, the same solves in 1 and 2 plain processes (no queue, no database): ${(best(solo[1]!) / 1000).toFixed(1)} s and ${(best(solo[2]!) / 1000).toFixed(1)} s, ` +
      `${(best(solo[2]!) / best(solo[1]!)).toFixed(2)}× (best of ${rounds}; median ${(median(solo[2]!) / median(solo[1]!)).toFixed(2)}×): the machine's own scaling of this work (load ${load()})`,
  );
  console.log(
    `   queue ratio / reference ratio: ${(times[2]! / times[1]! / (best(solo[2]!) / best(solo[1]!))).toFixed(2)} (1.00: the queue costs no scaling)`,
  );
}

/** Site `i`'s re-plan problem, the same in every process. */
function replanProblem(i: number) {
  return randomProblem(5000 + i, {
    assets: Number(args.assets),
    negativeExport: i % 2 === 0,
    peakChargePerKw: 0.1,
  });
}
