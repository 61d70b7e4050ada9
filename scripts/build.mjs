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
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
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

// The template depends only on the migrations and the PGlite version: a rebuild keeps it when
// neither changed (making it is an initdb, seconds; the transpile is under one).
const TEMPLATE = 'dist/store/pglite-template';
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const hash = createHash('sha256').update(readFileSync(join(pgliteEntry, '../../package.json')));
for (const path of assets.filter((p) => /\/migrations\//.test(p)).sort())
  hash.update(path).update('\0').update(readFileSync(path)).update('\0');
const templateKey = hash.digest('hex');
// Inside node_modules/.cache: same file system as dist/ (rename), and ignored by git.
const kept = 'node_modules/.cache/gridflex-template-kept';
rmSync(kept, { recursive: true, force: true });
let reuse = false;
const wantTemplate = !process.argv.includes('--no-template');
try {
  const old = JSON.parse(readFileSync(`${TEMPLATE}.json`, 'utf8'));
  reuse = wantTemplate && old.key === templateKey && existsSync(TEMPLATE);
} catch {}
if (reuse) {
  mkdirSync(kept, { recursive: true });
  renameSync(TEMPLATE, join(kept, 'pglite-template'));
  renameSync(`${TEMPLATE}.json`, join(kept, 'pglite-template.json'));
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
// Each command's description, so the built `gridflex --help` loads no command module
// (cli/program.ts). A command that cannot be loaded now fails its own runs, not the build.
try {
  const { commandSummaries } = await import('../dist/cli/program.js');
  writeFileSync('dist/cli/summaries.json', `${JSON.stringify(await commandSummaries(), null, 2)}\n`);
} catch (err) {
  console.warn(`build: no command summaries (gridflex --help will load every command): ${err.message}`);
}
const transpiledMs = performance.now() - t0;

// The embedded database's template: a PGlite data folder with every module's migrations applied,
// copied into a fresh data folder instead of running initdb (store/pglite-db.ts).
let template = null;
if (reuse) {
  renameSync(join(kept, 'pglite-template'), TEMPLATE);
  renameSync(join(kept, 'pglite-template.json'), `${TEMPLATE}.json`);
  rmSync(kept, { recursive: true, force: true });
  const { migrations, pglite } = JSON.parse(readFileSync(`${TEMPLATE}.json`, 'utf8'));
  template = { migrations: migrations.length, pglite, reused: true };
} else if (wantTemplate) {
  const { makePgliteTemplate } = await import('./pglite-template.mjs');
  template = await makePgliteTemplate(
    await import('../dist/store/index.js'),
    await import('../dist/store/pglite-db.js'),
    'dist',
    TEMPLATE,
  );
  const manifest = JSON.parse(readFileSync(`${TEMPLATE}.json`, 'utf8'));
  writeFileSync(`${TEMPLATE}.json`, `${JSON.stringify({ ...manifest, key: templateKey }, null, 2)}\n`);
}

writeFileSync(
  BUILD_INFO,
  `${JSON.stringify({ startedAtMs, files: entryPoints.length, template }, null, 2)}\n`,
);
console.log(
  `built dist/: ${entryPoints.length} modules, ${assets.length} assets in ${(transpiledMs / 1000).toFixed(1)} s` +
    (template?.reused
      ? `; database template (${template.migrations} migrations) kept: no migration changed`
      : template
        ? `; database template (${template.migrations} migrations) in ${((performance.now() - t0 - transpiledMs) / 1000).toFixed(1)} s`
        : ''),
);
