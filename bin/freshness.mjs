// Is dist/ the build of the sources beside it? Shared by bin/gridflex.mjs (at every start) and
// scripts/build.mjs. A checkout changes files' and folders' modification times (a new, renamed or
// deleted file changes its folder's), so anything newer than the build's start means the build is
// stale. About 350 stat calls: a few milliseconds.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders compiled into dist/, relative to the package root. */
export const SOURCE_DIRS = [
  'app',
  'config',
  'model',
  'stream',
  'store',
  'server',
  'cli',
  'gateway',
  'optimizer',
  'market',
  'ledger',
  'sim',
  'control',
  'uplink',
];
/** Files whose change changes what the build produces. */
const BUILD_FILES = ['scripts/build.mjs', 'scripts/pglite-template.mjs', 'bin/freshness.mjs'];
export const BUILD_INFO = 'dist/build.json';

function newerIn(dir, sinceMs) {
  let entries;
  try {
    if (statSync(dir).mtimeMs > sinceMs) return dir;
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const found = newerIn(path, sinceMs);
      if (found) return found;
    } else if (!e.name.endsWith('.test.ts') && statSync(path).mtimeMs > sinceMs) return path;
  }
  return null;
}

/**
 * Why dist/ under `root` must not run (missing, unfinished or older than a source), or null when
 * it is current. Without sources beside it (an image that ships dist/ only) dist/ is current.
 */
export function staleReason(root) {
  let info;
  try {
    info = JSON.parse(readFileSync(join(root, BUILD_INFO), 'utf8'));
  } catch {
    return 'dist/ is not built';
  }
  for (const dir of SOURCE_DIRS) {
    const found = newerIn(join(root, dir), info.startedAtMs);
    if (found) return `${found.slice(root.length).replace(/^\//, '')} changed after the build`;
  }
  for (const file of BUILD_FILES) {
    try {
      if (statSync(join(root, file)).mtimeMs > info.startedAtMs) return `${file} changed after the build`;
    } catch {}
  }
  return null;
}
