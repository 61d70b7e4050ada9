import { buildProgram, reportError } from './program.js';

try {
  const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const program = await buildProgram(first);
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}
