import { z } from 'zod';
import { IdSchema, parseOrThrow, refusalOf, type WriteRefusal } from '../model/index.js';
import { type Db, loadMigrations, type Store } from '../store/index.js';
import type { WriteOutcome, WriteRecord } from './safety.js';

/** A write record as stored, with its row id (stable, increasing in insertion order). */
export interface StoredWriteRecord extends WriteRecord {
  id: number;
}

/** Which write records to list: one site, optionally one device or point, newest first, paged. */
export const WriteQuerySchema = z
  .object({
    site: IdSchema,
    device: IdSchema.optional(),
    point: IdSchema.optional(),
    /** Inclusive start, ms since epoch. */
    from: z.number().int().nonnegative().optional(),
    /** Exclusive end, ms since epoch. */
    to: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    offset: z.number().int().min(0).default(0),
  })
  .refine((q) => q.point === undefined || q.device !== undefined, {
    message: 'a point is named within its device: give device as well',
    path: ['point'],
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: 'from must be before to',
    path: ['to'],
  });
export type WriteQuery = z.input<typeof WriteQuerySchema>;

export interface WritePage {
  items: StoredWriteRecord[];
  /** The offset of the next (older) page, or null when this is the last one. */
  nextOffset: number | null;
}

/** What the gateway needs from a write log: append, and the last sent write per point. */
export interface WriteLog {
  append(record: WriteRecord): Promise<unknown>;
  lastSent(site: string): Promise<Map<string, number>>;
}

interface Row {
  id: string | number;
  ts_ms: string | number;
  site: string;
  device: string;
  point: string;
  requested: number;
  applied: number | null;
  clamped: boolean;
  old_value: number | null;
  read_back: number | null;
  outcome: WriteOutcome;
  refusal: WriteRefusal | null;
  reason: string | null;
  who: string;
  why: string;
}

const COLUMNS = `id, round(extract(epoch FROM ts) * 1000)::bigint AS ts_ms, site, device, point, requested,
  applied, clamped, old_value, read_back, outcome, refusal, reason, who, why`;

const toRecord = (r: Row): StoredWriteRecord => ({
  id: Number(r.id),
  ts: Number(r.ts_ms),
  site: r.site,
  device: r.device,
  point: r.point,
  who: r.who,
  why: r.why,
  requested: r.requested,
  value: r.applied,
  clamped: r.clamped,
  old: r.old_value,
  readBack: r.read_back,
  outcome: r.outcome,
  // Refusals stored before the code existed: classified from their words, in the model.
  refusal: r.refusal ?? refusalOf(r),
  reason: r.reason,
});

/**
 * The `setpoint_writes` table: every write the gateway sent or refused, with who asked and why,
 * the requested, applied, old and read-back values and the outcome. Append-only (the database
 * refuses UPDATE, DELETE and TRUNCATE).
 */
export class SetpointWriteRepository implements WriteLog {
  private constructor(private readonly db: Db) {}

  /** Migrate the gateway's tables (once per store) and open the repository. */
  static async open(store: Store): Promise<SetpointWriteRepository> {
    await store.migrate(await loadMigrations('gateway', new URL('./migrations/', import.meta.url)));
    return new SetpointWriteRepository(store.db);
  }

  async append(r: WriteRecord): Promise<StoredWriteRecord> {
    const res = await this.db.query<Row>(
      `INSERT INTO setpoint_writes
         (ts, site, device, point, requested, applied, clamped, old_value, read_back, outcome, refusal,
          reason, who, why)
       VALUES (TIMESTAMPTZ 'epoch' + $1::bigint * INTERVAL '1 millisecond',
               $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING ${COLUMNS}`,
      [
        r.ts,
        r.site,
        r.device,
        r.point,
        r.requested,
        r.value,
        r.clamped,
        r.old,
        r.readBack,
        r.outcome,
        r.outcome === 'refused' ? r.refusal : null,
        r.reason,
        r.who,
        r.why,
      ],
    );
    return toRecord(res.rows[0]!);
  }

  /** Newest first (by time, then insertion); `nextOffset` pages on to older records. */
  async list(query: WriteQuery): Promise<WritePage> {
    const q = parseOrThrow(WriteQuerySchema, query, 'write-record query');
    const where = ['site = $1'];
    const params: unknown[] = [q.site];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.device !== undefined) add('device = ?', q.device);
    if (q.point !== undefined) add('point = ?', q.point);
    if (q.from !== undefined) add(`ts >= TIMESTAMPTZ 'epoch' + ?::bigint * INTERVAL '1 millisecond'`, q.from);
    if (q.to !== undefined) add(`ts < TIMESTAMPTZ 'epoch' + ?::bigint * INTERVAL '1 millisecond'`, q.to);
    params.push(q.limit + 1, q.offset);
    const res = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM setpoint_writes WHERE ${where.join(' AND ')}
       ORDER BY ts DESC, id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    const items = res.rows.slice(0, q.limit).map(toRecord);
    return { items, nextOffset: res.rows.length > q.limit ? q.offset + q.limit : null };
  }

  /**
   * When each point of the site last had a value sent (`device/point` → ms). A record with an
   * applied value passed the safety layer's checks, whatever the device did with it; counting
   * all of them errs on the side of writing less often.
   */
  async lastSent(site: string): Promise<Map<string, number>> {
    const res = await this.db.query<{ device: string; point: string; ts_ms: string | number }>(
      `SELECT device, point, round(extract(epoch FROM max(ts)) * 1000)::bigint AS ts_ms
       FROM setpoint_writes WHERE site = $1 AND applied IS NOT NULL GROUP BY device, point`,
      [site],
    );
    return new Map(res.rows.map((r) => [`${r.device}/${r.point}`, Number(r.ts_ms)]));
  }
}
