// npm run build: compile TypeScript to dist/ and copy the files the code reads at run time
// (SQL migrations, YAML profiles and scenarios, static web assets) next to it.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SOURCES = [
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
];
const ASSET = /\.(sql|ya?ml|json|html|css|js|mjs|svg|png|woff2?|ico|txt)$/;

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});

let copied = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyAssets(path);
    else if (ASSET.test(name) && !name.endsWith('.test.ts')) {
      cpSync(path, join('dist', relative('.', path)));
      copied++;
    }
  }
}
for (const dir of SOURCES) {
  try {
    copyAssets(dir);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}
cpSync('deploy/examples', 'dist/deploy/examples', { recursive: true });
console.log(`built dist/ (${copied} asset files copied)`);
