import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../config/version.js';
// model/errors.js, not model/index.js: the errors alone, without every schema (about 0.3 s CPU).
import { GridflexError, ValidationError } from '../model/errors.js';

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
  edge: () => import('./commands/edge.js'),
  worker: () => import('./commands/worker.js'),
};

/** Written by `npm run build` next to the built program.js: each command's description. */
const SUMMARIES_FILE = new URL('./summaries.json', import.meta.url);

/**
 * Each command's description, by loading every command module (about a second): the build calls
 * this once and writes SUMMARIES_FILE, so the top-level help of the built CLI loads none.
 */
export async function commandSummaries(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, load] of Object.entries(COMMANDS)) {
    const program = new Command();
    (await load()).register(program);
    out[name] = program.commands[0]!.description();
  }
  return out;
}

/** The build's summaries when they cover every command, else null (running the sources). */
export function builtSummaries(): Record<string, string> | null {
  try {
    const summaries = JSON.parse(readFileSync(SUMMARIES_FILE, 'utf8')) as Record<string, string>;
    return Object.keys(COMMANDS).every((n) => typeof summaries[n] === 'string') ? summaries : null;
  } catch {
    return null;
  }
}

/**
 * The command `argv` (without node and the script) names: the first word, or the word after
 * `help` (`gridflex help bill`). Undefined for the top-level help and an unknown command.
 */
export function commandOf(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && name in COMMANDS ? name : undefined;
}

/**
 * The `gridflex` program. With `only`, just that subcommand is loaded (a normal invocation).
 * Without it (top-level help, an unknown command): with the build's summaries, each command is
 * a stub with its description, enough for the help and for commander's "unknown command" with a
 * suggestion, at no loading cost; without them (the sources), every command is loaded.
 */
export async function buildProgram(
  only?: string,
  summaries: Record<string, string> | null = builtSummaries(),
): Promise<Command> {
  const program = new Command('gridflex')
    .description('Gridflex: energy flexibility and virtual power plant controller')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  if (only !== undefined && only in COMMANDS) (await COMMANDS[only]!()).register(program);
  else if (summaries)
    for (const name of Object.keys(COMMANDS))
      program.command(name).description(summaries[name]!).allowUnknownOption();
  else
    for (const mod of await Promise.all(Object.values(COMMANDS).map((load) => load()))) mod.register(program);
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
    return err.kind === 'input' ? 2 : 1;
  }
  console.error('gridflex: unexpected error (please report it with the lines below)');
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
}
