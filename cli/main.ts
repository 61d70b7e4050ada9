import { Command, CommanderError } from 'commander';
import { VERSION } from '../config/version.js';
import { GridflexError, ValidationError } from '../model/index.js';
import * as bill from './commands/bill.js';
import * as browse from './commands/browse.js';
import * as demo from './commands/demo.js';
import * as gateway from './commands/gateway.js';
import * as ledger from './commands/ledger.js';
import * as optimize from './commands/optimize.js';
import * as read from './commands/read.js';
import * as scan from './commands/scan.js';
import * as sim from './commands/sim.js';
import * as user from './commands/user.js';
import * as write from './commands/write.js';

/** Each subcommand lives in cli/commands/<name>.ts and exports `register(program)`. */
const commands: { register(program: Command): void }[] = [
  demo,
  bill,
  ledger,
  optimize,
  gateway,
  read,
  scan,
  write,
  browse,
  sim,
  user,
];

export function buildProgram(): Command {
  const program = new Command('gridflex')
    .description('Gridflex: energy flexibility and virtual power plant controller')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const c of commands) c.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Print an error the way a building manager can act on it; exit 2 for bad input, 1 otherwise. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof ValidationError) {
    console.error(`gridflex: ${err.message}`);
    for (const issue of err.issues.slice(1, 20))
      console.error(`  ${issue.path || '(root)'}: ${issue.message}`);
    return 2;
  }
  if (err instanceof GridflexError) {
    console.error(`gridflex: ${err.message}`);
    return err.status >= 400 && err.status < 500 ? 2 : 1;
  }
  console.error('gridflex: unexpected error (please report it with the lines below)');
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}
