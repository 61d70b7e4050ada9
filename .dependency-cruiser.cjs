/**
 * The architecture, enforced in CI (README "Architecture", CONTRIBUTING "Dependency rules"):
 *
 *   model ← stream ← {store, gateway, optimizer, market, ledger, control} ← app ← {server, cli}
 *
 * - gateway, optimizer, market and ledger (the four core modules) never import one another;
 *   what they share lives in model/ (contracts) or control/ (asset drivers).
 * - app/ (the composition root) is the only code that wires several of them together.
 * - server/ speaks HTTP: it calls the services the root hands it and imports core modules only
 *   through their index.ts, for types. cli/ parses flags: it imports core modules only through
 *   their index.ts. Neither reaches into a module's internals.
 * - Production code never imports tests, `testing.ts` helpers or testkit/.
 * scripts/check-architecture.mjs adds the one rule dependency-cruiser cannot say: outside app/,
 * no file imports more than one of the four core modules.
 */
const FOUR = ['gateway', 'optimizer', 'market', 'ledger'];
const TEST = '(\\.test\\.ts|/testing\\.ts|\\.fixtures\\.ts)$';

const coreIsolated = FOUR.map((m) => ({
  name: `${m}-imports-no-other-core`,
  comment: `${m}/ must not import ${FOUR.filter((o) => o !== m).join(', ')}: share through model/ or control/, wire in app/.`,
  severity: 'error',
  from: { path: `^${m}/`, pathNot: TEST },
  to: { path: `^(${FOUR.filter((o) => o !== m).join('|')})/` },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'model-is-pure',
      comment: 'model/ holds zod schemas and pure helpers; it imports nothing else of ours.',
      severity: 'error',
      from: { path: '^model/' },
      to: {
        path: '^(stream|store|gateway|optimizer|market|ledger|control|sim|server|cli|app|config|bench|testkit)/',
      },
    },
    {
      name: 'stream-only-model',
      severity: 'error',
      from: { path: '^stream/', pathNot: TEST },
      to: { path: '^(store|gateway|optimizer|market|ledger|control|sim|server|cli|app|bench)/' },
    },
    {
      name: 'control-is-neutral',
      comment: 'control/ (asset drivers) is shared by the optimiser and the market: it imports only model/.',
      severity: 'error',
      from: { path: '^control/', pathNot: TEST },
      to: { path: '^(stream|store|gateway|optimizer|market|ledger|sim|server|cli|app|bench)/' },
    },
    {
      name: 'uplink-is-transport',
      comment:
        'uplink/ (MQTT edge↔central) carries readings and commands; the composition root wires it to the modules.',
      severity: 'error',
      from: { path: '^uplink/', pathNot: TEST },
      to: { path: '^(gateway|optimizer|market|ledger|control|sim|server|cli|app|bench)/' },
    },
    ...coreIsolated,
    {
      name: 'core-not-edges',
      comment: 'Core modules never import the composition root, the HTTP server, the CLI or benchmarks.',
      severity: 'error',
      from: {
        path: '^(model|stream|store|gateway|optimizer|market|ledger|control|config|uplink)/',
        pathNot: TEST,
      },
      to: { path: '^(app|server|cli|bench)/' },
    },
    {
      name: 'root-not-edges',
      comment: 'app/ composes the modules; the CLI and the server sit on top of it, not below.',
      severity: 'error',
      from: { path: '^app/', pathNot: TEST },
      to: { path: '^(cli|bench)/' },
    },
    {
      name: 'edges-through-index',
      comment: 'server/ and cli/ use a core module only through its index.ts (its public interface).',
      severity: 'error',
      from: { path: '^(server|cli)/', pathNot: TEST },
      to: {
        path: '^(gateway|optimizer|market|ledger|store|stream|control|uplink)/',
        pathNot: '^[a-z]+/index\\.ts$',
      },
    },
    {
      name: 'server-types-only',
      comment:
        'server/ is HTTP only: routes call the services the root gives them (AppContext), they do not run core code.',
      severity: 'error',
      from: { path: '^server/', pathNot: TEST },
      to: { path: '^(gateway|optimizer|market|ledger)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sim-over-the-wire',
      comment: 'The simulator is a stand-in for real devices: it must not import the controller.',
      severity: 'error',
      from: { path: '^sim/', pathNot: TEST },
      to: { path: '^(gateway|optimizer|market|ledger|control|store|server|app)/' },
    },
    {
      name: 'no-test-code-in-production',
      comment:
        'Production code does not import tests, testing.ts helpers, fixtures or testkit/ (benchmarks may).',
      severity: 'error',
      from: {
        path: '^(model|config|stream|store|gateway|optimizer|market|ledger|control|uplink|app|server|cli|sim)/',
        pathNot: TEST,
      },
      to: { path: `(${TEST}|^testkit/)` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
