#!/usr/bin/env node
// Runs the built JavaScript (dist/, made by `npm run build`, which `npm ci` / `npm install` run
// through `prepare`) when it is the build of the sources beside it; otherwise the TypeScript
// sources through tsx, saying why on stderr, so an old build never runs silently.
// GRIDFLEX_FROM_SOURCE=1 always runs the sources (tests, development).
import { fileURLToPath } from 'node:url';
import { staleReason } from './freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const fromSource = process.env.GRIDFLEX_FROM_SOURCE === '1';
const stale = fromSource ? 'GRIDFLEX_FROM_SOURCE=1' : staleReason(root);
if (stale === null) {
  await import('../dist/cli/main.js');
} else {
  if (!fromSource)
    process.stderr.write(
      `gridflex: running the TypeScript sources (${stale}); npm run build starts faster\n`,
    );
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../cli/main.ts', import.meta.url).href);
}
