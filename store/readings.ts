import { z } from 'zod';
import { GridflexError, isCounter, type PointKind, type Quality, type Reading } from '../model/index.js';
import type { CopyTransaction, CopyTx, Db } from './db.js';
import { STORE_ERRORS } from './errors.js';
import type { Flavour } from './migrate.js';

const QUALITY_CODE: Record<Quality, number> = { good: 0, uncertain: 1, bad: 2 };
const QUALITY_NAME: Quality[] = ['good', 'uncertain', 'bad'];

export interface IngestResult {
  /** Readings stored by this call. */
  inserted: number;
  /** Readings skipped because the same point and instant were already stored. */
  duplicates: number;
}

export const RangeQuerySchema = z.object({
  pointId: z.string(),
  /** Inclusive start, ms since epoch. */
  from: z.number().int(),
  /** Exclusive end, ms since epoch. */
  to: z.number().int(),
  /** Bucket size in ms; null returns raw readings. */
  bucketMs: z.number().int().positive().nullable(),
});
export type RangeQuery = z.infer<typeof RangeQuerySchema>;

export interface Bucket {
  /** Bucket start, ms since epoch (UTC-aligned; a day bucket runs midnight to midnight UTC). */
  ts: number;
  /** Readings aggregated (bad ones are left out). */
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
  /**
   * For energy counters: how much the counter rose, from the last reading before the bucket
   * to the last reading in it. Null when the counter went backwards (reset or meter swap)
   * or when no earlier reading exists and the bucket holds a single one.
   */
  delta?: number | null;
}

export interface RawReading {
  ts: number;
  value: number | null;
  quality: Quality;
}

export interface RangeResult {
  pointId: string;
  unit: string | null;
  kind: PointKind | null;
  /** Effective range after snapping to the bucket grid. */
  from: number;
  to: number;
  bucketMs: number | null;
  buckets: Bucket[];
  raw: RawReading[];
  /** True when raw readings were cut at `MAX_RAW_ROWS`; ask for a shorter range or a bucket. */
  truncated: boolean;
}

export const MAX_RAW_ROWS = 100_000;
// Bucket grid origin: a Monday, the same instant TimescaleDB's time_bucket uses by default.
const ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'";
const ORIGIN_MS = Date.UTC(2000, 0, 3);
const FIFTEEN_MIN = 15 * 60_000;
const HOUR = 60 * 60_000;

export class UnknownPointError extends GridflexError {
  constructor(pointId: string) {
    super(STORE_ERRORS.UNKNOWN_POINT, `no readings are stored for point "${pointId}"`, { kind: 'not_found' });
  }
}

function snapDown(ms: number, bucket: number): number {
  return ORIGIN_MS + Math.floor((ms - ORIGIN_MS) / bucket) * bucket;
}

function snapUp(ms: number, bucket: number): number {
  return ORIGIN_MS + Math.ceil((ms - ORIGIN_MS) / bucket) * bucket;
}

export interface IngestOptions {
  /** `plain`: ingest maintains the rollup tables; `timescale`: continuous aggregates do. */
  flavour: Flavour;
  /** COPY-capable transactions; without them ingest falls back to one unnest INSERT per batch. */
  copy?: CopyTransaction;
  /** Readings per COPY statement (default 10,000): bigger batches are cut and pipelined. */
  chunk?: number;
  /** Chunks in flight at once (default 2; PGlite runs them one after another anyway). */
  inFlight?: number;
}

const DEFAULT_CHUNK = 10_000;
const UNIQUE_VIOLATION = '23505';
const COPY_READINGS = 'COPY readings (point_id, ts, value, quality) FROM STDIN (FORMAT binary)';
const COPY_STAGE = 'COPY readings_stage (point_id, ts, value, quality) FROM STDIN (FORMAT binary)';
// Per connection: a session's temporary table, emptied after each use.
const STAGE_TABLE = `CREATE TEMP TABLE IF NOT EXISTS readings_stage
  (point_id integer, ts timestamptz, value double precision, quality smallint)`;

/** A reading with its point resolved to the stored id and quality to its code. */
interface Row {
  p: number;
  ts: number;
  v: number | null;
  q: number;
}

// Binary COPY: a 19-byte header, per row a field count and (length, big-endian value) per
// field, a -1 trailer. timestamptz is microseconds since 2000-01-01 UTC.
const COPY_HEADER = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;

function encodeCopy(rows: readonly Row[]): Buffer {
  const buf = Buffer.allocUnsafe(COPY_HEADER.length + rows.length * 44 + 2);
  COPY_HEADER.copy(buf, 0);
  let o = COPY_HEADER.length;
  for (const r of rows) {
    buf.writeInt16BE(4, o);
    buf.writeInt32BE(4, o + 2);
    buf.writeInt32BE(r.p, o + 6);
    // Microseconds exceed 2^32; split into two words rather than allocate a BigInt per row.
    const us = Math.round((r.ts - PG_EPOCH_MS) * 1000);
    const hi = Math.floor(us / TWO_32);
    buf.writeInt32BE(8, o + 10);
    buf.writeInt32BE(hi, o + 14);
    buf.writeUInt32BE(us - hi * TWO_32, o + 18);
    o += 22;
    if (r.v === null) {
      buf.writeInt32BE(-1, o);
      o += 4;
    } else {
      buf.writeInt32BE(8, o);
      buf.writeDoubleBE(r.v, o + 4);
      o += 12;
    }
    buf.writeInt32BE(2, o);
    buf.writeInt16BE(r.q, o + 4);
    o += 6;
  }
  buf.writeInt16BE(-1, o);
  return buf.subarray(0, o + 2);
}

function firstOfEachKey(rows: readonly Row[]): Row[] {
  const seen = new Map<number, Set<number>>();
  return rows.filter((r) => {
    let s = seen.get(r.p);
    if (!s) {
      s = new Set();
      seen.set(r.p, s);
    }
    if (s.has(r.ts)) return false;
    s.add(r.ts);
    return true;
  });
}

/** Partial aggregate of one point and bucket, the same columns as the rollup tables. */
interface Partial {
  p: number;
  bucket: number;
  n: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  firstValue: number | null;
  firstTs: number;
  lastValue: number | null;
  lastTs: number;
}

/** 15-minute partials of the inserted rows; bad readings are left out, as in every aggregate. */
function partials(rows: readonly Row[], size: number): Partial[] {
  const byPoint = new Map<number, Map<number, Partial>>();
  for (const r of rows) {
    if (r.q >= 2) continue;
    const bucket = snapDown(r.ts, size);
    let m = byPoint.get(r.p);
    if (!m) {
      m = new Map();
      byPoint.set(r.p, m);
    }
    const a = m.get(bucket);
    const v = r.v;
    if (!a) {
      m.set(bucket, {
        p: r.p,
        bucket,
        n: 1,
        sum: v,
        min: v,
        max: v,
        firstValue: v,
        firstTs: r.ts,
        lastValue: v,
        lastTs: r.ts,
      });
      continue;
    }
    a.n += 1;
    if (v !== null) {
      a.sum = a.sum === null ? v : a.sum + v;
      if (a.min === null || v < a.min) a.min = v;
      if (a.max === null || v > a.max) a.max = v;
    }
    if (r.ts < a.firstTs) {
      a.firstTs = r.ts;
      a.firstValue = v;
    }
    if (r.ts > a.lastTs) {
      a.lastTs = r.ts;
      a.lastValue = v;
    }
  }
  return sortPartials(byPoint);
}

/** Coarser partials (hourly) from finer ones. */
function mergePartials(fine: readonly Partial[], size: number): Partial[] {
  const byPoint = new Map<number, Map<number, Partial>>();
  for (const f of fine) {
    const bucket = snapDown(f.bucket, size);
    let m = byPoint.get(f.p);
    if (!m) {
      m = new Map();
      byPoint.set(f.p, m);
    }
    const a = m.get(bucket);
    if (!a) {
      m.set(bucket, { ...f, bucket });
      continue;
    }
    a.n += f.n;
    if (f.sum !== null) a.sum = a.sum === null ? f.sum : a.sum + f.sum;
    if (f.min !== null && (a.min === null || f.min < a.min)) a.min = f.min;
    if (f.max !== null && (a.max === null || f.max > a.max)) a.max = f.max;
    if (f.firstTs < a.firstTs) {
      a.firstTs = f.firstTs;
      a.firstValue = f.firstValue;
    }
    if (f.lastTs > a.lastTs) {
      a.lastTs = f.lastTs;
      a.lastValue = f.lastValue;
    }
  }
  return sortPartials(byPoint);
}

function sortPartials(byPoint: Map<number, Map<number, Partial>>): Partial[] {
  const out: Partial[] = [];
  for (const p of [...byPoint.keys()].sort((a, b) => a - b)) {
    out.push(...[...byPoint.get(p)!.values()].sort((a, b) => a.bucket - b.bucket));
  }
  return out;
}

const num = (x: number | null) => (x === null ? 'NULL' : String(x));
function partialArrays(ps: readonly Partial[]): string[] {
  const col = (f: (p: Partial) => string | number) => `{${ps.map(f).join(',')}}`;
  return [
    col((p) => p.p),
    col((p) => p.bucket),
    col((p) => p.n),
    col((p) => num(p.sum)),
    col((p) => num(p.min)),
    col((p) => num(p.max)),
    col((p) => num(p.firstValue)),
    col((p) => p.firstTs),
    col((p) => num(p.lastValue)),
    col((p) => p.lastTs),
  ];
}

const mergeInto = (table: string, first: number) => {
  const a = (i: number, type: string) => `$${first + i}::${type}[]`;
  const ms = (c: string) => `TIMESTAMPTZ 'epoch' + ${c} * INTERVAL '1 millisecond'`;
  return `INSERT INTO ${table} AS r
    SELECT p, ${ms('b')}, n, s, mn, mx, fv, ${ms('ft')}, lv, ${ms('lt')}
    FROM unnest(${a(0, 'int4')}, ${a(1, 'int8')}, ${a(2, 'int8')}, ${a(3, 'float8')}, ${a(4, 'float8')},
                ${a(5, 'float8')}, ${a(6, 'float8')}, ${a(7, 'int8')}, ${a(8, 'float8')}, ${a(9, 'int8')})
      AS u(p, b, n, s, mn, mx, fv, ft, lv, lt)
    ON CONFLICT (point_id, bucket) DO UPDATE SET
      n = r.n + EXCLUDED.n,
      sum = COALESCE(r.sum + EXCLUDED.sum, r.sum, EXCLUDED.sum),
      min = LEAST(r.min, EXCLUDED.min),
      max = GREATEST(r.max, EXCLUDED.max),
      first_value = CASE WHEN EXCLUDED.first_ts < r.first_ts THEN EXCLUDED.first_value ELSE r.first_value END,
      first_ts = LEAST(r.first_ts, EXCLUDED.first_ts),
      last_value = CASE WHEN EXCLUDED.last_ts > r.last_ts THEN EXCLUDED.last_value ELSE r.last_value END,
      last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts)`;
};
// One statement for both rollups: $1..$10 the 15-minute partials, $11..$20 the hourly ones.
const MERGE_ROLLUPS = `WITH quarter AS (${mergeInto('readings_15m', 1)}) ${mergeInto('readings_1h', 11)}`;

/** Readings: point-key cache, idempotent batch ingest, range queries. One SQL path for every backend. */
export class ReadingsRepository {
  private readonly ids = new Map<string, number>();
  private readonly copy: CopyTransaction | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: IngestOptions = { flavour: 'plain' },
  ) {
    this.copy = options.copy;
  }

  /** Record what a point measures, so queries can report its unit and counter deltas. */
  async describePoints(points: readonly { key: string; kind: PointKind; unit: string }[]): Promise<void> {
    if (points.length === 0) return;
    await this.db.query(
      `INSERT INTO points (key, kind, unit)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, unit = EXCLUDED.unit`,
      [points.map((p) => p.key), points.map((p) => p.kind), points.map((p) => p.unit)],
    );
  }

  private async resolve(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.ids.has(k));
    if (missing.length === 0) return;
    await this.db.query('INSERT INTO points (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING', [
      missing,
    ]);
    const res = await this.db.query<{ id: number; key: string }>(
      'SELECT id, key FROM points WHERE key = ANY($1::text[])',
      [missing],
    );
    for (const row of res.rows) this.ids.set(row.key, row.id);
  }

  /**
   * Store a batch. Re-sending a batch stores nothing twice: a reading whose point and instant
   * are already stored (or appear earlier in the same batch) is skipped, the first value wins.
   *
   * Fast path, one transaction: binary `COPY` straight into `readings` (a unique violation
   * aborts it, so it commits only when nothing was stored before), then, on the plain
   * flavour, the batch's 15-minute and hourly partial aggregates merged into the rollups in
   * one statement. A batch with any duplicate is rolled back and re-run through a staging
   * table and `INSERT … ON CONFLICT DO NOTHING RETURNING`, whose returned rows give the
   * rollups. Batches above `chunk` readings are cut into chunks, two in flight on two
   * connections (PostgreSQL); each chunk commits on its own, so a failed call may have
   * stored part of the batch, which a retry counts as duplicates.
   */
  async ingest(batch: readonly Reading[]): Promise<IngestResult> {
    if (batch.length === 0) return { inserted: 0, duplicates: 0 };
    await this.resolve(batch.map((r) => r.pointId));
    const rows = this.encodeRows(batch);
    if (!this.copy) return this.ingestUnnest(rows);
    const chunk = this.options.chunk ?? DEFAULT_CHUNK;
    if (rows.length <= chunk) return this.ingestRows(rows);
    const parts: Row[][] = [];
    for (let i = 0; i < rows.length; i += chunk) parts.push(rows.slice(i, i + chunk));
    const total = { inserted: 0, duplicates: 0 };
    let next = 0;
    const failures: unknown[] = [];
    const lane = async () => {
      while (next < parts.length && failures.length === 0) {
        const part = parts[next++]!;
        try {
          const r = await this.ingestRows(part);
          total.inserted += r.inserted;
          total.duplicates += r.duplicates;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.inFlight ?? 2, parts.length) }, lane));
    if (failures.length > 0) throw failures[0];
    return total;
  }

  private encodeRows(batch: readonly Reading[]): Row[] {
    const rows = new Array<Row>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      rows[i] = { p: this.ids.get(r.pointId)!, ts: r.ts, v: r.value, q: QUALITY_CODE[r.quality] };
    }
    return rows;
  }

  private async ingestRows(rows: Row[]): Promise<IngestResult> {
    const copy = this.copy!;
    try {
      await copy(async (tx) => {
        await tx.copyIn(COPY_READINGS, encodeCopy(rows));
        await this.mergeRollups(tx, rows);
      });
      return { inserted: rows.length, duplicates: 0 };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    }
    // Some reading is stored already (a replay) or repeated in the batch: keep the first of
    // each key, and insert only those not yet stored.
    const unique = firstOfEachKey(rows);
    const inserted = await copy(async (tx) => {
      await tx.query(STAGE_TABLE);
      await tx.copyIn(COPY_STAGE, encodeCopy(unique));
      const res = await tx.query<{ p: number; t: number; v: number | null; q: number }>(
        `INSERT INTO readings (point_id, ts, value, quality)
         SELECT point_id, ts, value, quality FROM readings_stage
         ON CONFLICT (point_id, ts) DO NOTHING
         RETURNING point_id AS p, (extract(epoch FROM ts) * 1000)::float8 AS t, value AS v, quality AS q`,
      );
      await tx.query('TRUNCATE readings_stage');
      await this.mergeRollups(
        tx,
        res.rows.map((r) => ({ p: r.p, ts: r.t, v: r.v, q: r.q })),
      );
      return res.rows.length;
    });
    return { inserted, duplicates: rows.length - inserted };
  }

  /** Plain flavour: merge the partial aggregates of the rows just inserted into both rollups. */
  private async mergeRollups(tx: CopyTx, rows: readonly Row[]): Promise<void> {
    if (this.options.flavour !== 'plain') return;
    const quarter = partials(rows, FIFTEEN_MIN);
    if (quarter.length === 0) return;
    const hour = mergePartials(quarter, HOUR);
    // Sorted by key, so two transactions in flight lock rollup rows in the same order (no deadlock).
    await tx.query(MERGE_ROLLUPS, [...partialArrays(quarter), ...partialArrays(hour)]);
  }

  /** Without COPY (a Db built by hand): one `INSERT … SELECT FROM unnest … ON CONFLICT`, rollups by trigger-free merge. */
  private async ingestUnnest(rows: Row[]): Promise<IngestResult> {
    const n = rows.length;
    return this.db.transaction(async (db) => {
      const res = await db.query<{ p: number; t: number; v: number | null; q: number }>(
        `INSERT INTO readings (point_id, ts, value, quality)
         SELECT p, TIMESTAMPTZ 'epoch' + t * INTERVAL '1 millisecond', v, q
         FROM unnest($1::int4[], $2::int8[], $3::float8[], $4::int2[]) AS u(p, t, v, q)
         ON CONFLICT (point_id, ts) DO NOTHING
         RETURNING point_id AS p, (extract(epoch FROM ts) * 1000)::float8 AS t, value AS v, quality AS q`,
        [
          `{${rows.map((r) => r.p).join(',')}}`,
          `{${rows.map((r) => r.ts).join(',')}}`,
          `{${rows.map((r) => (r.v === null ? 'NULL' : String(r.v))).join(',')}}`,
          `{${rows.map((r) => r.q).join(',')}}`,
        ],
      );
      if (this.options.flavour === 'plain') {
        const quarter = partials(
          res.rows.map((r) => ({ p: r.p, ts: r.t, v: r.v, q: r.q })),
          FIFTEEN_MIN,
        );
        if (quarter.length > 0)
          await db.query(MERGE_ROLLUPS, [
            ...partialArrays(quarter),
            ...partialArrays(mergePartials(quarter, HOUR)),
          ]);
      }
      return { inserted: res.rows.length, duplicates: n - res.rows.length };
    });
  }

  private async pointInfo(
    pointId: string,
  ): Promise<{ id: number; kind: PointKind | null; unit: string | null }> {
    const res = await this.db.query<{ id: number; kind: PointKind | null; unit: string | null }>(
      'SELECT id, kind, unit FROM points WHERE key = $1',
      [pointId],
    );
    const row = res.rows[0];
    if (!row) throw new UnknownPointError(pointId);
    return row;
  }

  /**
   * Readings of one point in [from, to). With a bucket size, the range is widened to whole
   * buckets and each bucket gives min, max, mean, first, last (and delta for counters),
   * read from the 1-hour or 15-minute rollup when the bucket is a multiple of it.
   */
  async range(q: RangeQuery): Promise<RangeResult> {
    const info = await this.pointInfo(q.pointId);
    const base = { pointId: q.pointId, unit: info.unit, kind: info.kind, bucketMs: q.bucketMs };
    if (q.bucketMs === null) {
      const res = await this.db.query<{ t: number; value: number | null; quality: number }>(
        `SELECT (extract(epoch FROM ts) * 1000)::float8 AS t, value, quality FROM readings
         WHERE point_id = $1 AND ts >= TIMESTAMPTZ 'epoch' + $2::int8 * INTERVAL '1 millisecond'
           AND ts < TIMESTAMPTZ 'epoch' + $3::int8 * INTERVAL '1 millisecond'
         ORDER BY ts LIMIT $4`,
        [info.id, q.from, q.to, MAX_RAW_ROWS + 1],
      );
      const truncated = res.rows.length > MAX_RAW_ROWS;
      const raw = res.rows
        .slice(0, MAX_RAW_ROWS)
        .map((r) => ({ ts: r.t, value: r.value, quality: QUALITY_NAME[r.quality]! }));
      return { ...base, from: q.from, to: q.to, buckets: [], raw, truncated };
    }
    const bucket = q.bucketMs;
    const from = snapDown(q.from, bucket);
    const to = snapUp(q.to, bucket);
    const source = bucket % HOUR === 0 ? 'readings_1h' : bucket % FIFTEEN_MIN === 0 ? 'readings_15m' : null;
    const rangeSql = `TIMESTAMPTZ 'epoch' + $2::int8 * INTERVAL '1 millisecond'`;
    const rangeEndSql = `TIMESTAMPTZ 'epoch' + $3::int8 * INTERVAL '1 millisecond'`;
    const binSql = `date_bin($4::int8 * INTERVAL '1 millisecond', %COL%, ${ORIGIN})`;
    const sql =
      source === null
        ? `SELECT (extract(epoch FROM ${binSql.replace('%COL%', 'ts')}) * 1000)::float8 AS t,
                  count(*)::int AS n, sum(value) AS s, min(value) AS mn, max(value) AS mx,
                  (array_agg(value ORDER BY ts))[1] AS fv, (array_agg(value ORDER BY ts DESC))[1] AS lv
           FROM readings WHERE point_id = $1 AND quality < 2 AND ts >= ${rangeSql} AND ts < ${rangeEndSql}
           GROUP BY 1 ORDER BY 1`
        : `SELECT (extract(epoch FROM ${binSql.replace('%COL%', 'bucket')}) * 1000)::float8 AS t,
                  sum(n)::int AS n, sum(sum) AS s, min(min) AS mn, max(max) AS mx,
                  (array_agg(first_value ORDER BY first_ts))[1] AS fv,
                  (array_agg(last_value ORDER BY last_ts DESC))[1] AS lv
           FROM ${source} WHERE point_id = $1 AND bucket >= ${rangeSql} AND bucket < ${rangeEndSql}
           GROUP BY 1 ORDER BY 1`;
    const res = await this.db.query<{
      t: number;
      n: number;
      s: number | null;
      mn: number | null;
      mx: number | null;
      fv: number | null;
      lv: number | null;
    }>(sql, [info.id, from, to, bucket]);
    const buckets: Bucket[] = res.rows.map((r) => ({
      ts: r.t,
      count: r.n,
      mean: r.s === null || r.n === 0 ? null : r.s / r.n,
      min: r.mn,
      max: r.mx,
      first: r.fv,
      last: r.lv,
    }));
    if (info.kind !== null && isCounter(info.kind)) {
      const before = await this.db.query<{ value: number }>(
        `SELECT value FROM readings WHERE point_id = $1 AND quality < 2 AND value IS NOT NULL
           AND ts < TIMESTAMPTZ 'epoch' + $2::int8 * INTERVAL '1 millisecond'
         ORDER BY ts DESC LIMIT 1`,
        [info.id, from],
      );
      let prev: number | null = before.rows[0]?.value ?? null;
      for (const b of buckets) {
        // Without an earlier reading the bucket's own first reading is the reference; a lone reading has none.
        const start = prev ?? (b.count > 1 ? b.first : null);
        b.delta = start === null || b.last === null || b.last < start ? null : b.last - start;
        prev = b.last ?? prev;
      }
    }
    return { ...base, from, to, buckets, raw: [], truncated: false };
  }

  /** The newest reading of each point (any quality). */
  async latest(pointIds: readonly string[]): Promise<Map<string, RawReading>> {
    const res = await this.db.query<{ key: string; t: number; value: number | null; quality: number }>(
      `SELECT p.key, (extract(epoch FROM r.ts) * 1000)::float8 AS t, r.value, r.quality
       FROM points p CROSS JOIN LATERAL (
         SELECT ts, value, quality FROM readings WHERE point_id = p.id ORDER BY ts DESC LIMIT 1
       ) r WHERE p.key = ANY($1::text[])`,
      [pointIds],
    );
    return new Map(
      res.rows.map((r) => [r.key, { ts: r.t, value: r.value, quality: QUALITY_NAME[r.quality]! }]),
    );
  }

  /** Count of stored readings of a point in [from, to): used by tests and replay checks. */
  async count(pointId: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<number> {
    const res = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM readings r JOIN points p ON p.id = r.point_id
       WHERE p.key = $1 AND r.ts >= TIMESTAMPTZ 'epoch' + $2::int8 * INTERVAL '1 millisecond'
         AND r.ts < TIMESTAMPTZ 'epoch' + $3::int8 * INTERVAL '1 millisecond'`,
      [pointId, from, Math.min(to, 8_000_000_000_000)],
    );
    return res.rows[0]?.n ?? 0;
  }
}
