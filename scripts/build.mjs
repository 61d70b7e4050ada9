// npm run build (and `prepare`, so `npm ci` / `npm install` build too): transpile the TypeScript
// sources to dist/ with esbuild, file by file (no bundling: the code finds its SQL, YAML and web
// assets next to itself through import.meta.url), copy those assets, make the embedded database
// template, and write dist/build.json, which bin/gridflex.mjs compares with the sources' times.
//
// Transpile-only on purpose: tsc takes tens of seconds here and the type check is its own CI step
// (`npm run typecheck`); tsconfig's isolatedModules + verbatimModuleSyntax keep per-file
// transpiling exact.
//
//   node scripts/build.mjs [--no-template]
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_INFO, SOURCE_DIRS } from '../bin/freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const t0 = performance.now();
// Taken before any source is read: a file saved during the build is newer, so the build is stale.
const startedAtMs = Date.now();

const ASSET = /\.(sql|ya?ml|json|html|css|js|mjs|svg|png|woff2?|ico|txt|gz)$/;
const entryPoints = [];
const assets = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
      entryPoints.push(path);
    else if (ASSET.test(name)) assets.push(path);
  }
}
for (const dir of SOURCE_DIRS) {
  try {
    walk(dir);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}

rmSync('dist', { recursive: true, force: true });
const { build } = await import('esbuild');
await build({
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const path of assets) {
  mkdirSync(join('dist', relative('.', join(path, '..'))), { recursive: true });
  cpSync(path, join('dist', path));
}
cpSync('deploy/examples', 'dist/deploy/examples', { recursive: true });
const transpiledMs = performance.now() - t0;

// The embedded database's template: a PGlite data folder with every module's migrations applied,
// copied into a fresh data folder instead of running initdb (store/pglite-db.ts).
let template = null;
if (!process.argv.includes('--no-template')) {
  const { makePgliteTemplate } = await import('./pglite-template.mjs');
  template = await makePgliteTemplate(
    await import('../dist/store/index.js'),
    await import('../dist/store/pglite-db.js'),
    'dist',
    'dist/store/pglite-template',
  );
}

writeFileSync(
  BUILD_INFO,
  `${JSON.stringify({ startedAtMs, files: entryPoints.length, template }, null, 2)}\n`,
);
console.log(
  `built dist/: ${entryPoints.length} modules, ${assets.length} assets in ${(transpiledMs / 1000).toFixed(1)} s` +
    (template
      ? `; database template (${template.migrations} migrations) in ${((performance.now() - t0 - transpiledMs) / 1000).toFixed(1)} s`
      : ''),
);
