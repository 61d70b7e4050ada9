import { Command, CommanderError } from 'commander';
import { VERSION } from '../config/version.js';
import { GridflexError, ValidationError } from '../model/index.js';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Each subcommand lives in cli/commands/<name>.ts and exports `register(program)`. They are
 * imported lazily: `gridflex bill` must not pay for loading the OPC UA stack.
 */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./commands/demo.js'),
  sim: () => import('./commands/sim.js'),
  read: () => import('./commands/read.js'),
  gateway: () => import('./commands/gateway.js'),
  scan: () => import('./commands/scan.js'),
  browse: () => import('./commands/browse.js'),
  write: () => import('./commands/write.js'),
  optimize: () => import('./commands/optimize.js'),
  bill: () => import('./commands/bill.js'),
  ledger: () => import('./commands/ledger.js'),
  user: () => import('./commands/user.js'),
  market: () => import('./commands/market.js'),
  config: () => import('./commands/config.js'),
  run: () => import('./commands/run.js'),
};

/**
 * The `gridflex` program. With `only`, just that subcommand is loaded (a normal invocation);
 * without it, all of them (top-level help, unknown commands).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('gridflex')
    .description('Gridflex: energy flexibility and virtual power plant controller')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const mod of await Promise.all(names.map((n) => COMMANDS[n]!()))) mod.register(program);
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
