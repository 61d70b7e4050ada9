import type { Db, QueryResult } from './db.js';

/**
 * The part of PGlite's API we use. Both `@electric-sql/pglite` and the TimescaleDB-enabled
 * build share it, so one adapter serves the embedded default and the Timescale test path.
 */
export interface PGliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: PGliteTxLike) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
export interface PGliteTxLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

class PGliteTxDb implements Db {
  readonly backend = 'pglite' as const;
  constructor(private readonly tx: PGliteTxLike) {}
  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const res = await this.tx.query<R>(sql, params as unknown[]);
    return { rows: res.rows, rowCount: res.affectedRows ?? 0 };
  }
  async exec(sql: string): Promise<void> {
    await this.tx.exec(sql);
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

export class PGliteDb implements Db {
  readonly backend = 'pglite' as const;
  constructor(
    private readonly pg: PGliteLike,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const res = await this.pg.query<R>(sql, params as unknown[]);
    return { rows: res.rows, rowCount: res.affectedRows ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) => fn(new PGliteTxDb(tx)));
  }

  async close(): Promise<void> {
    await this.pg.close();
    await this.onClose();
  }
}
