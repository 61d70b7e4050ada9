import { constants, cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { Db, QueryResult } from './db.js';
import { embeddedEngineOptions } from './pglite-warmup.js';

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

/**
 * The packaged template of the embedded database: a PGlite data folder with every module's
 * migrations applied, made by `npm run build` (scripts/pglite-template.mjs) next to the built
 * module, so it exists in dist/store/ only. Its manifest names the PGlite version that wrote it.
 */
export const PGLITE_TEMPLATE_DIR = fileURLToPath(new URL('./pglite-template/', import.meta.url));

export interface PgliteTemplateManifest {
  pglite: string;
  /** `module/version` of every migration in the template. */
  migrations: string[];
}

/** The installed `@electric-sql/pglite` version: a template from another version is not used. */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The template's manifest when it can seed a new data folder here, else null. */
export function usableTemplate(templateDir: string): PgliteTemplateManifest | null {
  try {
    const manifest = JSON.parse(
      readFileSync(`${templateDir.replace(/\/$/, '')}.json`, 'utf8'),
    ) as PgliteTemplateManifest;
    if (manifest.pglite !== pgliteVersion() || !existsSync(join(templateDir, 'PG_VERSION'))) return null;
    return manifest;
  } catch {
    return null;
  }
}

/**
 * Open the embedded database in `pgDir`. A folder that does not exist yet is seeded from the
 * template when there is a usable one: copying it takes tens of milliseconds where PGlite's
 * initdb takes seconds. The copy goes to a sibling folder first and is renamed into place, so a
 * crash never leaves half a database. Migrations still run after this (store.ts): the template's
 * are recorded with their checksums, so only newer ones are applied.
 */
export async function openEmbeddedPglite(
  pgDir: string,
  templateDir: string = PGLITE_TEMPLATE_DIR,
): Promise<{ pg: PGlite; fromTemplate: boolean }> {
  const { PGlite } = await import('@electric-sql/pglite');
  let fromTemplate = false;
  if (!existsSync(pgDir) && usableTemplate(templateDir)) {
    const staging = `${pgDir}.seeding-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    // A reflink where the file system has them (btrfs, XFS): no data copied at all.
    cpSync(templateDir, staging, { recursive: true, mode: constants.COPYFILE_FICLONE });
    renameSync(staging, pgDir);
    fromTemplate = true;
  }
  return { pg: await PGlite.create({ dataDir: pgDir, ...(await embeddedEngineOptions()) }), fromTemplate };
}
