// The embedded database's template (store/pglite-db.ts): open a PGlite data folder, apply every
// module's migrations, close it cleanly and keep the folder with a manifest. Run by
// scripts/build.mjs on the built code; tests run it on the sources.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * @param store the store module (`dist/store/index.js`, or `store/index.ts` in tests)
 * @param pgliteDb the PGlite adapter module (`…/store/pglite-db.js`) for the version check
 * @param codeRoot the folder whose `<module>/migrations/` folders hold the SQL (`dist` or `.`)
 * @param outDir where the template folder goes; its manifest is `<outDir>.json`
 */
export async function makePgliteTemplate(store, pgliteDb, codeRoot, outDir) {
  const work = mkdtempSync(join(tmpdir(), 'gfx-template-'));
  try {
    // openStore applies the store's own migrations; each other module versions its own tables
    // under its folder's name (ledger/migrations → module `ledger`), and none refers to another's.
    const db = await store.openStore({ dataDir: work, timescale: 'off' });
    const migrations = [];
    try {
      for (const module of readdirSync(codeRoot).sort()) {
        const dir = join(codeRoot, module, 'migrations');
        if (!existsSync(dir)) continue;
        const set = await store.loadMigrations(module, pathToFileURL(`${resolve(dir)}/`));
        await db.migrate(set);
        for (const m of set.migrations) migrations.push(`${module}/${m.version}`);
      }
    } finally {
      await db.close();
    }
    rmSync(outDir, { recursive: true, force: true });
    rmSync(`${outDir}.json`, { force: true });
    cpSync(join(work, 'pg'), outDir, { recursive: true });
    const manifest = { pglite: pgliteDb.pgliteVersion(), migrations };
    writeFileSync(`${outDir}.json`, `${JSON.stringify(manifest, null, 2)}\n`);
    return { migrations: migrations.length, pglite: manifest.pglite };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
