/**
 * Ingest throughput against raw COPY of the same rows on the same engine, in one run:
 *
 * - PostgreSQL (`--url`): `store.readings.ingest` (binary COPY, rollups merged, chunks in
 *   flight on two connections) vs a bare binary `COPY` of the same batches into a table with
 *   the same primary key and no rollups, one batch at a time (the reference). The two are
 *   interleaved `--rounds` times and the best of each is kept, since the machine is shared.
 * - PGlite and the TimescaleDB PGlite build: ingest vs raw `COPY … FROM '/dev/blob'` into a
 *   bare table, and the old path (one `INSERT … SELECT FROM unnest … ON CONFLICT` per batch).
 *
 * Load average is printed beside the figures: on a loaded machine only the ratios mean much.
 *
 *   npx tsx bench/ingest.ts [--readings 400000] [--batch 20000] [--points 500] [--rounds 2] [--url postgres://…]
 */
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Reading } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { testBackends } from '../store/testing.js';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '400000' },
    batch: { type: 'string', default: '20000' },
    points: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '10000' },
    'in-flight': { type: 'string', default: '2' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const N = Number(args.readings);
const BATCH = Number(args.batch);
const POINTS = Number(args.points);
const ROUNDS = Number(args.rounds);
const T0 = Date.UTC(2026, 0, 5);

function makeReadings(n: number): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    pointId: `bench/dev${i % POINTS}/power`,
    ts: T0 + Math.floor(i / POINTS) * 1000,
    value: Math.round(Math.sin(i / 1000) * 50_000) / 10,
    quality: 'good' as const,
  }));
}

/** The same binary COPY rows the store sends (point ids 1..POINTS in order of first use). */
function encodeRaw(rows: readonly Reading[], from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(19 + (to - from) * 44 + 2);
  buf.write('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 0, 'latin1');
  let o = 19;
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    buf.writeInt16BE(4, o);
    buf.writeInt32BE(4, o + 2);
    buf.writeInt32BE((i % POINTS) + 1, o + 6);
    buf.writeInt32BE(8, o + 10);
    buf.writeBigInt64BE(BigInt(r.ts - Date.UTC(2000, 0, 1)) * 1000n, o + 14);
    buf.writeInt32BE(8, o + 22);
    buf.writeDoubleBE(r.value!, o + 26);
    buf.writeInt32BE(2, o + 34);
    buf.writeInt16BE(0, o + 38);
    o += 40;
  }
  buf.writeInt16BE(-1, o);
  return buf.subarray(0, o + 2);
}

const BARE = `CREATE TABLE IF NOT EXISTS readings_bare (point_id integer NOT NULL, ts timestamptz NOT NULL,
  value double precision, quality smallint NOT NULL, PRIMARY KEY (point_id, ts))`;

/** Readings/s of `fn(from, to)` over the rows after the first POINTS, in batches of BATCH. */
async function timeBatches(n: number, fn: (from: number, to: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = POINTS; i < n; i += BATCH) await fn(i, Math.min(n, i + BATCH));
  return (n - POINTS) / ((performance.now() - t0) / 1000);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

console.log(
  `ingest benchmark: ${N.toLocaleString('en-US')} readings, batches of ${BATCH}, ${POINTS} points, Node ${process.version}`,
);

for (const backend of testBackends.filter((b) => b.name !== 'postgres')) {
  const n = Math.min(N, 200_000);
  const rows = makeReadings(n);
  const store = await backend.open();
  await store.readings.ingest(rows.slice(0, POINTS)); // resolve point ids outside the timing
  const ingest = await timeBatches(n, (a, b) => store.readings.ingest(rows.slice(a, b)));
  const at = load();
  await store.db.exec(BARE);
  const raw = await timeBatches(n, (a, b) => rawPglite(store, encodeRaw(rows, a, b)));
  await store.db.exec('DROP TABLE readings_bare');
  // The old path: one unnest INSERT per batch into a bare table.
  await store.db.exec(BARE);
  const unnest = await timeBatches(n, (a, b) => {
    const part = rows.slice(a, b);
    return store.db.query(
      `INSERT INTO readings_bare SELECT p, TIMESTAMPTZ 'epoch' + t * INTERVAL '1 millisecond', v, 0
       FROM unnest($1::int4[], $2::int8[], $3::float8[]) AS u(p, t, v) ON CONFLICT DO NOTHING`,
      [
        `{${part.map((_, i) => ((a + i) % POINTS) + 1).join(',')}}`,
        `{${part.map((r) => r.ts).join(',')}}`,
        `{${part.map((r) => r.value).join(',')}}`,
      ],
    );
  });
  console.log(
    `  ${backend.name.padEnd(17)} ingest ${fmt(ingest)}/s  raw COPY ${fmt(raw)}/s  ratio ${(ingest / raw).toFixed(2)}` +
      `  (unnest INSERT, no rollups ${fmt(unnest)}/s; ${store.flavour}; ${n.toLocaleString('en-US')} readings; ${at})`,
  );
  await store.close();
}

/** Raw COPY on PGlite through the same blob path the store uses (the PGlite instance behind the Db). */
async function rawPglite(store: Store, data: Buffer): Promise<void> {
  const pglite = (
    store.db as unknown as { pg: { query: (s: string, p: unknown[], o: object) => Promise<unknown> } }
  ).pg;
  await pglite.query(`COPY readings_bare FROM '/dev/blob' (FORMAT binary)`, [], { blob: new Blob([data]) });
}

let server: { store: Store; schema: string; client: pg.Client } | null = null;
try {
  const schema = `bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: args.url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(args.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const ingest = { chunk: Number(args.chunk), inFlight: Number(args['in-flight']) };
  server = { store: await openStore({ url: url.toString(), ingest }), schema, client };
} catch (err) {
  console.log(`  postgres           skipped: ${(err as Error).message}`);
}

if (server) {
  const { store, client } = server;
  const rows = makeReadings(N);
  await store.readings.ingest(rows.slice(0, POINTS));
  await client.query(BARE);
  const copyRaw = (a: number, b: number) =>
    pipeline(
      Readable.from([encodeRaw(rows, a, b)]),
      client.query(copyFrom('COPY readings_bare FROM STDIN (FORMAT binary)')),
    );
  let best = { ingest: 0, raw: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    await client.query('TRUNCATE readings, readings_bare, readings_15m, readings_1h');
    await client.query('VACUUM ANALYZE readings');
    const raw = await timeBatches(N, copyRaw);
    const ingest = await timeBatches(N, (a, b) => store.readings.ingest(rows.slice(a, b)));
    console.log(
      `  postgres round ${round + 1}   ingest ${fmt(ingest)}/s  raw COPY ${fmt(raw)}/s  ratio ${(ingest / raw).toFixed(2)}  (${load()})`,
    );
    best = { ingest: Math.max(best.ingest, ingest), raw: Math.max(best.raw, raw) };
  }
  // A replay: every reading is stored already, so each batch takes the staging path.
  const replay = await timeBatches(Math.min(N, 100_000), (a, b) => store.readings.ingest(rows.slice(a, b)));
  const check = await client.query<{ n: number; r: number }>(
    'SELECT (SELECT count(*) FROM readings)::int AS n, (SELECT sum(n) FROM readings_15m)::int AS r',
  );
  console.log(
    `  postgres best     ingest ${fmt(best.ingest)}/s  raw COPY ${fmt(best.raw)}/s  ratio ${(best.ingest / best.raw).toFixed(2)}` +
      `  (${store.description}; ${load()})`,
  );
  console.log(
    `  postgres replay of stored readings ${fmt(replay)}/s (all duplicates); stored ${check.rows[0]!.n}, in rollups ${check.rows[0]!.r}`,
  );
  await client.end();
  await store.close();
  const admin = new pg.Client({ connectionString: args.url });
  await admin.connect();
  await admin.query(`DROP SCHEMA ${server.schema} CASCADE`);
  await admin.end();
}
