// The one architecture rule dependency-cruiser cannot express: outside the composition root
// (app/), no production file imports more than one of the four core modules (gateway,
// optimizer, market, ledger) at run time. Type-only imports of a module's index.ts (the
// contracts server/ declares its services with) do not count: they vanish when compiled.
// Run by `npm run deps:check` after dependency-cruiser's own rules.
import { existsSync } from 'node:fs';
import { cruise } from 'dependency-cruiser';
import { SOURCE_DIRS } from '../bin/freshness.mjs';

const FOUR = ['gateway', 'optimizer', 'market', 'ledger'];
const TEST = /(\.test\.ts|\/testing\.ts|\.fixtures\.ts)$/;

const result = await cruise(
  SOURCE_DIRS.filter((r) => existsSync(r)),
  {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|data)/' },
  },
);
const bad = [];
for (const m of result.output.modules) {
  if (m.source.startsWith('app/') || m.source.startsWith('bench/') || TEST.test(m.source)) continue;
  const own = m.source.split('/')[0];
  const used = new Set(
    m.dependencies
      .filter((d) => !d.dependencyTypes.includes('type-only'))
      .map((d) => d.resolved.split('/')[0])
      .filter((top) => FOUR.includes(top) && top !== own),
  );
  if (FOUR.includes(own) && used.size > 0) used.add(own);
  if (used.size > 1) bad.push(`${m.source} imports ${[...used].sort().join(' + ')}`);
}
if (bad.length > 0) {
  console.error(
    'Only the composition root (app/) may import more than one of gateway, optimizer, market, ledger:',
  );
  for (const line of bad) console.error(`  ${line}`);
  process.exit(1);
}
console.log(
  `architecture: no file outside app/ combines core modules (${result.output.modules.length} modules checked)`,
);
