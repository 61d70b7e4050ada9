import pg from 'pg';
import type { Db, QueryResult } from './db.js';

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
    const pool = new pg.Pool({ connectionString, max: options.max ?? 10, application_name: 'gridflex' });
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

  override async close(): Promise<void> {
    await this.pool.end();
  }
}
