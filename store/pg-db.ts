import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CopyTx, Db, QueryResult } from './db.js';

type Queryable = pg.Pool | pg.PoolClient;

class PgClientDb implements Db {
  readonly backend = 'postgres' as const;
  constructor(protected readonly conn: Queryable) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const res = await this.conn.query(sql, params as unknown[]);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.conn.query(sql);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {}
}

/** A `pg` connection pool behind the Db interface. */
export class PgDb extends PgClientDb {
  private readonly pool: pg.Pool;

  constructor(connectionString: string, options: { max?: number } = {}) {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      application_name: 'gridflex',
      // A server that accepts TCP but never answers must fail the write (it is then spooled), not hang it.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    super(pool);
    this.pool = pool;
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
  }

  override async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgClientDb(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** A transaction on one pooled connection that can COPY (see `CopyTx`); two may run at once. */
  async copyTransaction<T>(fn: (tx: CopyTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: CopyTx = {
      query: async <R>(sql: string, params: readonly unknown[] = []) => {
        const res = await client.query(sql, params as unknown[]);
        return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
      },
      copyIn: (sql, data) => pipeline(Readable.from([data]), client.query(copyFrom(sql))),
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      // A connection that could not even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  }

  override async close(): Promise<void> {
    await this.pool.end();
  }
}
