/**
 * Batch ingest throughput: readings/s into the embedded store (PGlite), the TimescaleDB
 * PGlite build and the local PostgreSQL server, in one run. The peer figures on the server
 * are the same rows inserted one statement per reading (what a naive writer does) and with
 * unnest but without the rollup trigger (the price of keeping rollups current).
 *
 *   npx tsx bench/ingest.ts [--readings 500000] [--batch 5000] [--points 500] [--url postgres://…]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Reading } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { testBackends } from '../store/testing.js';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '500000' },
    batch: { type: 'string', default: '5000' },
    points: { type: 'string', default: '500' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const N = Number(args.readings);
const BATCH = Number(args.batch);
const POINTS = Number(args.points);

function makeReadings(n: number): Reading[] {
  const t0 = Date.UTC(2026, 0, 5);
  return Array.from({ length: n }, (_, i) => ({
    pointId: `bench/dev${i % POINTS}/power`,
    ts: t0 + Math.floor(i / POINTS) * 1000,
    value: Math.round(Math.sin(i / 1000) * 50_000) / 10,
    quality: 'good' as const,
  }));
}

async function timeIngest(store: Store, rows: Reading[]): Promise<number> {
  await store.readings.ingest(rows.slice(0, POINTS)); // resolve point ids outside the timing
  const rest = rows.slice(POINTS);
  const t0 = performance.now();
  for (let i = 0; i < rest.length; i += BATCH) {
    await store.readings.ingest(rest.slice(i, i + BATCH));
    if (process.stderr.isTTY && i % (BATCH * 20) === 0)
      process.stderr.write(`\r  ${Math.round((i / rest.length) * 100)}%`);
  }
  if (process.stderr.isTTY) process.stderr.write('\r      \r');
  return rest.length / ((performance.now() - t0) / 1000);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const results: { backend: string; rate: number; n: number }[] = [];

console.log(`ingest benchmark: batches of ${BATCH}, ${POINTS} points, Node ${process.version}`);
for (const backend of testBackends.filter((b) => b.name !== 'postgres')) {
  const n = Math.min(N, 200_000);
  const store = await backend.open();
  const rate = await timeIngest(store, makeReadings(n));
  results.push({ backend: `${backend.name} (${store.flavour})`, rate, n });
  console.log(`  ${backend.name.padEnd(18)} ${fmt(rate).padStart(9)} readings/s  (${fmt(n)} readings)`);
  await store.close();
}

let server: { store: Store; schema: string } | null = null;
try {
  const schema = `bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: args.url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(args.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  server = { store: await openStore({ url: url.toString() }), schema };
} catch (err) {
  console.log(`  postgres           skipped: ${(err as Error).message}`);
}

if (server) {
  const { store } = server;
  const rows = makeReadings(N);
  const rate = await timeIngest(store, rows);
  console.log(
    `  postgres           ${fmt(rate).padStart(9)} readings/s  (${fmt(N)} readings, ${store.description})`,
  );

  // Peer 1: one INSERT per reading, in transactions of BATCH rows.
  const naiveN = Math.min(N, 50_000);
  await store.db.exec('TRUNCATE readings, readings_15m, readings_1h');
  const naive = makeReadings(naiveN).map((r, i) => [i % POINTS, r.ts, r.value] as const);
  const ids = (await store.db.query<{ id: number }>('SELECT id FROM points ORDER BY id')).rows.map(
    (r) => r.id,
  );
  let t0 = performance.now();
  for (let i = 0; i < naive.length; i += BATCH) {
    await store.db.transaction(async (tx) => {
      for (const [p, ts, v] of naive.slice(i, i + BATCH)) {
        await tx.query(
          `INSERT INTO readings (point_id, ts, value, quality) VALUES ($1, TIMESTAMPTZ 'epoch' + $2::int8 * INTERVAL '1 millisecond', $3, 0) ON CONFLICT DO NOTHING`,
          [ids[p], ts, v],
        );
      }
    });
  }
  const naiveRate = naiveN / ((performance.now() - t0) / 1000);

  // Peer 2: the same unnest statement without the rollup trigger.
  await store.db.exec(
    'TRUNCATE readings, readings_15m, readings_1h; ALTER TABLE readings DISABLE TRIGGER readings_rollup',
  );
  const bare = await timeIngest(store, rows);
  await store.db.exec('ALTER TABLE readings ENABLE TRIGGER readings_rollup');
  t0 = performance.now();

  console.log(
    `  postgres, one INSERT per reading   ${fmt(naiveRate).padStart(9)} readings/s  → batched ingest is ${(rate / naiveRate).toFixed(1)}× faster`,
  );
  console.log(
    `  postgres, unnest without rollups   ${fmt(bare).padStart(9)} readings/s  → rollups cost ${Math.round((1 - rate / bare) * 100)} % of throughput`,
  );
  await store.close();
  const admin = new pg.Client({ connectionString: args.url });
  await admin.connect();
  await admin.query(`DROP SCHEMA ${server.schema} CASCADE`);
  await admin.end();
}
