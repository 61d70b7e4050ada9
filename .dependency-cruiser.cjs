/**
 * The dependency rule (see README "Architecture"): model ← stream ← {store, gateway, optimizer,
 * market, ledger} ← {server, cli}. The simulator reaches the gateway only over the wire.
 */
const CORE = '^(model|stream|store|gateway|optimizer|market|ledger|config)/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'model-is-pure',
      comment: 'model/ holds zod schemas and pure helpers; it imports nothing else of ours.',
      severity: 'error',
      from: { path: '^model/' },
      to: { path: '^(stream|store|gateway|optimizer|market|ledger|sim|server|cli|config|bench|testkit)/' },
    },
    {
      name: 'stream-only-model',
      severity: 'error',
      from: { path: '^stream/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(store|gateway|optimizer|market|ledger|sim|server|cli|bench)/' },
    },
    {
      name: 'core-not-edges',
      comment: 'Core modules never import the HTTP server, the CLI or benchmarks.',
      severity: 'error',
      from: { path: CORE, pathNot: '\\.test\\.ts$' },
      to: { path: '^(server|cli|bench)/' },
    },
    {
      name: 'sim-over-the-wire',
      comment: 'The simulator is a stand-in for real devices: it must not import the controller.',
      severity: 'error',
      from: { path: '^sim/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|optimizer|market|ledger|store|server)/' },
    },
    {
      name: 'no-test-imports',
      comment: 'Production code does not import tests.',
      severity: 'error',
      from: { pathNot: '\\.test\\.ts$' },
      to: { path: '\\.test\\.ts$' },
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
