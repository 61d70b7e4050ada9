import { buildProgram, commandOf, reportError } from './program.js';

try {
  const program = await buildProgram(commandOf(process.argv.slice(2)));
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}
