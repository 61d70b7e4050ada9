import type { Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import type { WireReading } from './protocol.js';

export const uplinkMigrations = () => loadMigrations('uplink', new URL('./migrations/', import.meta.url));

export interface OutboxRow {
  seq: number;
  createdMs: number;
  readings: WireReading[];
}

export interface OutboxOptions {
  /** Rows kept at most; past it the oldest are deleted and counted in `dropped` (the edge's disk is small). */
  maxRows?: number;
}

/**
 * The edge's durable outbox in its embedded store: each row is one telemetry message with a
 * sequence number that is never reused. Rows leave only when central has acknowledged them
 * after its database commit (`acknowledge`), so a reboot, an uplink outage or a central outage
 * loses nothing. Like the stream's disk queue it is bounded: past `maxRows` the oldest rows go
 * (recent data matters more to a controller) and are counted.
 */
export class Outbox {
  private nextSeq = 1;
  private cursorSeq = 0;
  private droppedRows = 0;
  private rowCount = 0;
  private readonly maxRows: number;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly store: Store,
    options: OutboxOptions,
  ) {
    this.maxRows = options.maxRows ?? 200_000;
  }

  static async open(store: Store, options: OutboxOptions = {}): Promise<Outbox> {
    await store.migrate(await uplinkMigrations());
    const o = new Outbox(store, options);
    const r = await store.db.query<{ max: string | null; n: string }>(
      'SELECT max(seq)::text AS max, count(*)::text AS n FROM uplink_outbox',
    );
    const s = await store.db.query<{ key: string; value: string }>(
      'SELECT key, value::text FROM uplink_state',
    );
    const state = new Map(s.rows.map((x) => [x.key, Number(x.value)]));
    o.cursorSeq = state.get('cursor') ?? 0;
    o.droppedRows = state.get('dropped') ?? 0;
    o.rowCount = Number(r.rows[0]!.n);
    // The sequence continues past both the rows still here and the acknowledged ones.
    o.nextSeq = Math.max(Number(r.rows[0]!.max ?? 0), o.cursorSeq, state.get('last_seq') ?? 0) + 1;
    return o;
  }

  /** Highest sequence number acknowledged with everything before it. */
  get cursor(): number {
    return this.cursorSeq;
  }

  get dropped(): number {
    return this.droppedRows;
  }

  get size(): number {
    return this.rowCount;
  }

  /** Called after every append (the publisher's wake-up). */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Commit one message's readings; resolves with its sequence number once it is durable. */
  async append(readings: readonly WireReading[], nowMs: number): Promise<number> {
    const seq = this.nextSeq++;
    await this.store.db.transaction(async (tx) => {
      await tx.query('INSERT INTO uplink_outbox (seq, created_ms, n, readings) VALUES ($1, $2, $3, $4)', [
        seq,
        nowMs,
        readings.length,
        JSON.stringify(readings),
      ]);
      await tx.query(
        `INSERT INTO uplink_state (key, value) VALUES ('last_seq', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [seq],
      );
    });
    this.rowCount++;
    if (this.rowCount > this.maxRows) await this.trim();
    for (const fn of this.listeners) fn();
    return seq;
  }

  private async trim(): Promise<void> {
    const excess = this.rowCount - this.maxRows;
    const r = await this.store.db.query(
      'DELETE FROM uplink_outbox WHERE seq IN (SELECT seq FROM uplink_outbox ORDER BY seq LIMIT $1)',
      [excess],
    );
    this.rowCount -= r.rowCount;
    this.droppedRows += r.rowCount;
    await this.setState('dropped', this.droppedRows);
  }

  /** Rows after `afterSeq`, oldest first. */
  async pending(afterSeq: number, limit: number): Promise<OutboxRow[]> {
    const r = await this.store.db.query<{ seq: string; created_ms: string; readings: string }>(
      // Order by the column, not the text alias (which would sort "100" before "61").
      'SELECT seq::text, created_ms::text, readings FROM uplink_outbox o WHERE o.seq > $1 ORDER BY o.seq LIMIT $2',
      [afterSeq, limit],
    );
    return r.rows.map((x) => ({
      seq: Number(x.seq),
      createdMs: Number(x.created_ms),
      readings: JSON.parse(x.readings) as WireReading[],
    }));
  }

  /** Central has committed everything up to `seq`: forget it. */
  async acknowledge(seq: number): Promise<void> {
    if (seq <= this.cursorSeq) return;
    this.cursorSeq = seq;
    const r = await this.store.db.transaction(async (tx) => {
      const d = await tx.query('DELETE FROM uplink_outbox WHERE seq <= $1', [seq]);
      await tx.query(
        `INSERT INTO uplink_state (key, value) VALUES ('cursor', $1)
         ON CONFLICT (key) DO UPDATE SET value = GREATEST(uplink_state.value, EXCLUDED.value)`,
        [seq],
      );
      return d;
    });
    this.rowCount -= r.rowCount;
  }

  private async setState(key: string, value: number): Promise<void> {
    await this.store.db.query(
      `INSERT INTO uplink_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [key, value],
    );
  }
}
