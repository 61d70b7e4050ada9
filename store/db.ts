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
