/**
 * The small SQL interface every store backend offers. The same SQL runs on the PostgreSQL
 * server (through `pg`) and on embedded PGlite; only migrations' DDL differs by flavour.
 */
export interface QueryResult<R> {
  rows: R[];
  /** Rows inserted, updated or deleted by the statement (0 for a SELECT on some drivers). */
  rowCount: number;
}

export interface Db {
  readonly backend: 'postgres' | 'pglite';
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Run several statements separated by semicolons, without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Run `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One connection in a transaction that can also take a `COPY … FROM STDIN` stream: the
 * readings ingest path. `copyIn` sends `data` (already encoded in the statement's format).
 */
export interface CopyTx {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Run `COPY <table> FROM STDIN (…)` with `data` as its input. */
  copyIn(sql: string, data: Uint8Array): Promise<void>;
}

/** Runs `fn` in a transaction on one connection with COPY (commit on resolve, rollback on throw). */
export type CopyTransaction = <T>(fn: (tx: CopyTx) => Promise<T>) => Promise<T>;
