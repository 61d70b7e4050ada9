import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GridflexError } from '../model/index.js';
import type { Db } from './db.js';
import { STORE_ERRORS } from './errors.js';

/** `timescale` when the TimescaleDB extension is in use, `plain` for PostgreSQL or PGlite without it. */
export type Flavour = 'timescale' | 'plain';

export interface Migration {
  version: number;
  name: string;
  /** SQL for both flavours, then the flavour's own DDL (either may be empty). */
  common: string;
  timescale: string;
  plain: string;
}

/** The migrations of one module (store, ledger, server, …); each module versions its own tables. */
export interface MigrationSet {
  module: string;
  migrations: Migration[];
}

const FILE = /^(\d{3})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$/;

/**
 * Load `NNN_name.sql`, `NNN_name.timescale.sql` and `NNN_name.plain.sql` files from a folder.
 * A version may have a common file, flavour files, or both.
 */
export async function loadMigrations(module: string, dir: URL): Promise<MigrationSet> {
  const path = fileURLToPath(dir);
  const byVersion = new Map<number, Migration>();
  for (const file of (await readdir(path)).sort()) {
    const match = FILE.exec(file);
    if (!match) continue;
    const version = Number(match[1]);
    const name = match[2]!;
    const part = (match[3] ?? 'common') as 'common' | Flavour;
    const existing = byVersion.get(version) ?? { version, name, common: '', timescale: '', plain: '' };
    if (existing.name !== name) {
      throw new GridflexError(
        STORE_ERRORS.MIGRATION,
        `migration ${module} ${version} has two names: ${existing.name}, ${name}`,
      );
    }
    existing[part] = await readFile(`${path}/${file}`, 'utf8');
    byVersion.set(version, existing);
  }
  return { module, migrations: [...byVersion.values()].sort((a, b) => a.version - b.version) };
}

function checksum(m: Migration, flavour: Flavour): string {
  return createHash('sha256').update(m.common).update('\0').update(m[flavour]).digest('hex').slice(0, 16);
}

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  module text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  flavour text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (module, version)
)`;

// Several processes may start against one server at once; one migrates, the others wait.
const LOCK_KEY = 7_412_339;

/**
 * Apply the set's pending migrations in order, each in its own transaction. A migration
 * already applied with different SQL is an error: migrations are append-only.
 */
export async function migrate(db: Db, set: MigrationSet, flavour: Flavour): Promise<number[]> {
  await db.exec(BOOKKEEPING);
  const applied: number[] = [];
  const run = async (tx: Db) => {
    const done = await tx.query<{ version: number; checksum: string; flavour: string; name: string }>(
      'SELECT version, checksum, flavour, name FROM schema_migrations WHERE module = $1',
      [set.module],
    );
    const byVersion = new Map(done.rows.map((r) => [r.version, r]));
    for (const m of set.migrations) {
      const prev = byVersion.get(m.version);
      const sum = checksum(m, flavour);
      if (prev) {
        if (prev.checksum !== checksum(m, prev.flavour as Flavour)) {
          throw new GridflexError(
            STORE_ERRORS.MIGRATION_CHANGED,
            `migration ${set.module} ${m.version}_${m.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await tx.exec(`${m.common}\n;\n${m[flavour]}`);
      await tx.query(
        'INSERT INTO schema_migrations (module, version, name, flavour, checksum) VALUES ($1, $2, $3, $4, $5)',
        [set.module, m.version, m.name, flavour, sum],
      );
      applied.push(m.version);
    }
  };
  if (db.backend === 'postgres') {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      await run(tx);
    });
  } else {
    await db.transaction(run);
  }
  return applied;
}
