import { buildProgram, commandOf, reportError } from './program.js';

/** Commands that open the embedded database unless DATABASE_URL names a server. */
const EMBEDDED_STORE_COMMANDS = new Set(['demo', 'run', 'bill']);

try {
  const command = commandOf(process.argv.slice(2));
  // The embedded database's engine compiles on V8's background threads while the command's
  // modules load on this one (store/pglite-warmup.ts): about 0.2 s off every start. With a
  // PostgreSQL `database.url` in gridflex.yaml the compile is wasted background work.
  if (command && EMBEDDED_STORE_COMMANDS.has(command) && !process.env.DATABASE_URL)
    (await import('../store/index.js')).warmEmbeddedEngine();
  const program = await buildProgram(command);
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}
