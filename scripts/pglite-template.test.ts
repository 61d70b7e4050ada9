import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as store from '../store/index.js';
import * as pgliteDb from '../store/pglite-db.js';
// @ts-expect-error: a build script in plain JavaScript
import { makePgliteTemplate } from './pglite-template.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const SLOW = 300_000;

/** The template `npm run build` makes, made here from the sources, and a database seeded from it. */
describe('embedded database template (store/pglite-db.ts, scripts/pglite-template.mjs)', () => {
  let work: string;
  let template: string;
  let manifest: pgliteDb.PgliteTemplateManifest;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gfx-template-test-'));
    template = join(work, 'template');
    await makePgliteTemplate(store, pgliteDb, repo, template);
    manifest = JSON.parse(readFileSync(`${template}.json`, 'utf8'));
  }, SLOW);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(
    'seeds a new data folder that is migrated and works, and still applies a newer migration',
    async () => {
      expect(manifest.pglite).toBe(pgliteDb.pgliteVersion());
      expect(manifest.migrations).toEqual(
        expect.arrayContaining(['store/1', 'store/2', 'ledger/1', 'server/1']),
      );
      const pgDir = join(work, 'data', 'pg');
      const { pg, fromTemplate } = await pgliteDb.openEmbeddedPglite(pgDir, template);
      expect(fromTemplate).toBe(true);
      const s = await store.openStore({ pglite: pg });
      try {
        expect(s.flavour).toBe('plain');
        // Every module's migrations are in the template: none is applied again.
        for (const module of new Set(manifest.migrations.map((m) => m.split('/')[0]!))) {
          const set = await store.loadMigrations(
            module,
            new URL(`../${module}/migrations/`, import.meta.url),
          );
          expect(await s.migrate(set), module).toEqual([]);
        }
        const recorded = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        expect(recorded.rows[0]!.n).toBe(manifest.migrations.length);
        // A migration newer than the template runs on top of it.
        const storeSet = await store.loadMigrations(
          'store',
          new URL('../store/migrations/', import.meta.url),
        );
        const newer = {
          version: 900,
          name: 'newer',
          common: 'CREATE TABLE newer_t (x int)',
          plain: '',
          timescale: '',
        };
        expect(await s.migrate({ module: 'store', migrations: [...storeSet.migrations, newer] })).toEqual([
          900,
        ]);
        await s.db.query('INSERT INTO newer_t VALUES (1)');
        const rollups = await s.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name LIKE 'readings%'",
        );
        expect(rollups.rows[0]!.n).toBeGreaterThan(0);
      } finally {
        await s.close();
      }
      // Reopened, the folder is the database, not the template again.
      const again = await pgliteDb.openEmbeddedPglite(pgDir, template);
      expect(again.fromTemplate).toBe(false);
      expect((await again.pg.query<{ x: number }>('SELECT x FROM newer_t')).rows).toEqual([{ x: 1 }]);
      await again.pg.close();
      expect(existsSync(`${pgDir}.seeding-${process.pid}`)).toBe(false);
    },
    SLOW,
  );

  it('is not used when another PGlite version made it, or it is missing', () => {
    expect(pgliteDb.usableTemplate(template)).not.toBeNull();
    writeFileSync(`${template}.json`, JSON.stringify({ ...manifest, pglite: '0.0.1' }));
    expect(pgliteDb.usableTemplate(template)).toBeNull();
    expect(pgliteDb.usableTemplate(join(work, 'nowhere'))).toBeNull();
    writeFileSync(`${template}.json`, JSON.stringify(manifest));
  });
});
