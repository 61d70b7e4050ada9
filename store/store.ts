import { resolve } from 'node:path';
import { GridflexError } from '../model/index.js';
import type { CopyTransaction, Db } from './db.js';
import { lockDataDir } from './embedded-lock.js';
import { STORE_ERRORS } from './errors.js';
import { type Flavour, loadMigrations, type MigrationSet, migrate } from './migrate.js';
import { openEmbeddedPglite, PGliteDb, type PGliteLike } from './pglite-db.js';
import { ReadingsRepository } from './readings.js';

export interface StoreOptions {
  /** A PostgreSQL URL (`DATABASE_URL`). Unset: the embedded database. */
  url?: string;
  /** Folder of the embedded database; `memory://` keeps it in memory (tests). Default `./data`. */
  dataDir?: string;
  /** Use TimescaleDB: `auto` when the server has the extension; `off` forces plain tables. */
  timescale?: 'auto' | 'on' | 'off';
  /** An already-created PGlite instance (e.g. the TimescaleDB-enabled build in tests). */
  pglite?: PGliteLike;
  /** Readings per COPY statement and how many run at once (defaults 10,000 and 2). */
  ingest?: { chunk?: number; inFlight?: number };
}

/** The store every module uses: one Db, its flavour, and the readings repository. */
export interface Store {
  readonly db: Db;
  readonly flavour: Flavour;
  /** Human-readable description for logs: "embedded PGlite in ./data", "PostgreSQL at host/db". */
  readonly description: string;
  readonly readings: ReadingsRepository;
  /** Apply a module's migrations (each module owns its tables). */
  migrate(set: MigrationSet): Promise<number[]>;
  /** Resolves when the database answers; rejects with the reason otherwise. */
  health(): Promise<void>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends GridflexError {
  constructor(message: string, cause?: unknown) {
    super(STORE_ERRORS.UNAVAILABLE, message, { kind: 'unavailable', cause });
  }
}

async function timescaleAvailable(db: Db, mode: 'auto' | 'on' | 'off'): Promise<boolean> {
  if (mode === 'off') return false;
  const res = await db.query<{ installed: boolean; available: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`,
  );
  const row = res.rows[0]!;
  if (!row.installed && row.available) {
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return true;
  }
  if (!row.installed && mode === 'on') {
    throw new GridflexError(
      STORE_ERRORS.NO_TIMESCALE,
      'timescale: on was requested, but this database has no TimescaleDB extension',
    );
  }
  return row.installed;
}

/** The flavour the store was first migrated with wins: switching needs a data migration, not a restart. */
async function recordedFlavour(db: Db): Promise<Flavour | null> {
  const res = await db
    .query<{ flavour: Flavour }>(
      `SELECT flavour FROM schema_migrations WHERE module = 'store' AND version = 1`,
    )
    .catch(() => ({ rows: [] as { flavour: Flavour }[] }));
  return res.rows[0]?.flavour ?? null;
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** The query call of PGlite and its transactions, with the blob option `COPY … FROM '/dev/blob'` reads. */
type PGliteBlobQuery = (sql: string, params: unknown[], options: { blob: Blob }) => Promise<unknown>;

/** COPY-capable transactions on PGlite: `FROM STDIN` becomes `FROM '/dev/blob'`, the data a Blob. */
function pgliteCopy(pglite: PGliteLike): CopyTransaction {
  return (fn) =>
    pglite.transaction((tx) =>
      fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => {
          const res = await tx.query<R>(sql, params as unknown[]);
          return { rows: res.rows, rowCount: res.affectedRows ?? 0 };
        },
        copyIn: async (sql, data) => {
          const query = tx.query.bind(tx) as unknown as PGliteBlobQuery;
          await query(sql.replace('FROM STDIN', "FROM '/dev/blob'"), [], { blob: new Blob([data]) });
        },
      }),
    );
}

async function openDb(
  options: StoreOptions,
): Promise<{ db: Db; description: string; copy: CopyTransaction | undefined }> {
  if (options.pglite)
    return {
      db: new PGliteDb(options.pglite),
      description: 'embedded PGlite (provided)',
      copy: pgliteCopy(options.pglite),
    };
  if (options.url) {
    // Loaded only for PostgreSQL: the embedded store (`npm start`, the CLI) never needs `pg`.
    const { PgDb } = await import('./pg-db.js');
    const db = new PgDb(options.url);
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close();
      throw new StoreUnavailableError(
        `cannot connect to ${describeUrl(options.url)}: ${(err as Error).message}`,
        err,
      );
    }
    return { db, description: describeUrl(options.url), copy: (fn) => db.copyTransaction(fn) };
  }
  const dataDir = options.dataDir ?? './data';
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir.startsWith('memory://')) {
    const pg = await PGlite.create();
    return { db: new PGliteDb(pg), description: 'embedded PGlite in memory', copy: pgliteCopy(pg) };
  }
  const dir = resolve(dataDir);
  const unlock = lockDataDir(dir);
  try {
    const { pg } = await openEmbeddedPglite(`${dir}/pg`);
    return {
      db: new PGliteDb(pg, async () => unlock()),
      description: `embedded PGlite in ${dir}`,
      copy: pgliteCopy(pg),
    };
  } catch (err) {
    unlock();
    throw new StoreUnavailableError(
      `cannot open the embedded database in ${dir}: ${(err as Error).message}`,
      err,
    );
  }
}

const storeMigrations = () => loadMigrations('store', new URL('./migrations/', import.meta.url));

/** Open (and migrate) the store: `pg` when a URL is given, embedded PGlite otherwise. */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const { db, description, copy } = await openDb(options);
  try {
    const previous = await recordedFlavour(db);
    const flavour: Flavour =
      previous ?? ((await timescaleAvailable(db, options.timescale ?? 'auto')) ? 'timescale' : 'plain');
    await migrate(db, await storeMigrations(), flavour);
    return {
      db,
      flavour,
      description: flavour === 'timescale' ? `${description} with TimescaleDB` : description,
      readings: new ReadingsRepository(db, { flavour, copy, ...options.ingest }),
      migrate: (set) => migrate(db, set, flavour),
      health: async () => {
        try {
          await db.query('SELECT 1');
        } catch (err) {
          throw new StoreUnavailableError(`the database does not answer: ${(err as Error).message}`, err);
        }
      },
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** Connection-level failures (server down, refused, reset, shutting down) worth waiting out. */
function isUnreachable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const code = String((err as { code?: unknown }).code ?? '');
  return (
    code.startsWith('08') ||
    code.startsWith('57P') ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code) ||
    /Connection terminated|connection timeout/i.test((err as Error).message ?? '')
  );
}

export interface OpenLaterOptions {
  /** Called after each failed attempt with the reason and the delay before the next. */
  onRetry?: (err: Error, delayMs: number) => void;
  /** Stop trying (the promise then rejects with the abort reason). */
  signal?: AbortSignal;
  /** First delay, doubled after each failure up to `maxDelayMs`. Defaults 500 ms and 10 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Open the store, waiting for a PostgreSQL server that is down: connection failures are
 * retried with backoff until it answers (a gateway must poll and spool meanwhile, not exit).
 * Any other error (a changed migration, a locked embedded folder) rejects at once.
 */
export async function openStoreWhenReachable(
  options: StoreOptions,
  later: OpenLaterOptions = {},
): Promise<Store> {
  let delay = later.minDelayMs ?? 500;
  for (;;) {
    later.signal?.throwIfAborted();
    try {
      return await openStore(options);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      later.onRetry?.(err as Error, delay);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delay);
        later.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(later.signal!.reason);
          },
          { once: true },
        );
      });
      delay = Math.min(later.maxDelayMs ?? 10_000, delay * 2);
    }
  }
}
