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
};

/**
 * What `gridflex --help` lists for each command, so the top-level help loads no command module
 * (loading them all took about a second). cli/program.test.ts checks that each entry is the
 * description the command registers.
 */
export const SUMMARIES: Record<string, string> = {
  demo: 'run the demo virtual power plant: store, API and web UI (embedded database unless DATABASE_URL is set)',
  sim: 'run a simulated site whose devices answer over Modbus TCP and OPC UA',
  read: 'read every point of a gateway file and print one JSON line per point',
  gateway:
    'poll the devices of a gateway file continuously into the store (spooling to disk while it is down)',
  scan: 'discover the SunSpec models of a Modbus device and print a gateway config stub',
  browse: 'list the nodes of an OPC UA server below Objects (node id, class, browse name)',
  write: 'write a setpoint through the safety layer (allow-list, limits, rate limit, read-back)',
  optimize:
    'plan one site: solve the LP problem in a JSON/YAML file (format: optimizer/README.md) and print the result as JSON',
  bill: 'allocate communal solar for one month, issue each unit’s bill into the tamper-evident ledger and write the bills',
  ledger: 'the tamper-evident billing ledger',
  user: 'manage who may log in: add users, list them, issue and revoke API tokens',
  market: 'the operator side of the market over the HTTP API: availability, activations, delivery reports',
  config: 'check gridflex.yaml, or convert the older sites and gateway files to it',
  run: 'run the controller for the sites of gridflex.yaml',
};

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
 * The `gridflex` program. With `only`, just that subcommand is loaded (a normal invocation);
 * without it, each command is a stub with its summary: enough for the top-level help and for
 * commander's "unknown command" with a suggestion, at no loading cost.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('gridflex')
    .description('Gridflex: energy flexibility and virtual power plant controller')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  if (only !== undefined && only in COMMANDS) (await COMMANDS[only]!()).register(program);
  else
    for (const name of Object.keys(COMMANDS))
      program
        .command(name)
        .description(SUMMARIES[name] ?? '')
        .allowUnknownOption();
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
