import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadGridflexConfig } from '../../app/config.js';
import { startGridflex } from '../../app/start.js';
import { GridflexError } from '../../model/index.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';
import { catchSignals } from '../signals.js';

export const RunOptionsSchema = z.object({
  config: z.string().min(1),
  host: z.string().min(1).optional(),
  port: PortOptionSchema.optional(),
  data: z.string().min(1).optional(),
});

/**
 * DATABASE_URL, with the password from GRIDFLEX_DB_PASSWORD_FILE added when the URL has none
 * (a Docker/compose secret), so the password is in neither the URL nor the file.
 */
async function databaseUrl(): Promise<string | undefined> {
  const url = process.env.DATABASE_URL;
  const file = process.env.GRIDFLEX_DB_PASSWORD_FILE;
  if (!url || !file) return url;
  const u = new URL(url);
  if (u.password) return url;
  try {
    u.password = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new GridflexError(
      CLI_ERRORS.ARGS,
      `GRIDFLEX_DB_PASSWORD_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { kind: 'input' },
    );
  }
  return u.toString();
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run the controller for the sites of gridflex.yaml: gateway, optimiser, market, ledger, API and web UI',
    )
    .requiredOption('--config <file>', 'gridflex.yaml (see deploy/examples/gridflex.yaml)')
    .option('--host <addr>', "address to listen on (default: the file's listen.host)")
    .option('--port <n>', "HTTP port (default: the file's listen.port)")
    .option('--data <dir>', "data folder (env GRIDFLEX_DATA; default: the file's database.data)")
    .action(async (raw) => {
      const opts = parseOptions(RunOptionsSchema, raw, 'run');
      const config = await loadGridflexConfig(opts.config);
      const dataDir = resolve(opts.data ?? process.env.GRIDFLEX_DATA ?? config.database.data);
      // The ledger's signing keys live in the data folder (ledger/keys.ts reads GRIDFLEX_DATA).
      process.env.GRIDFLEX_DATA = dataDir;
      const url = await databaseUrl();
      const say = (line: string) => console.log(line);
      // Caught from here: a signal while starting stops the controller once it is up.
      const signals = catchSignals(say);
      const g = await startGridflex(
        config,
        {},
        {
          dataDir,
          ...(url ? { databaseUrl: url } : {}),
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          logLevel: process.env.LOG_LEVEL ?? 'warn',
          adminPassword: process.env.GRIDFLEX_ADMIN_PASSWORD,
          adminUser: process.env.GRIDFLEX_ADMIN_USER,
          say,
        },
      );
      // Never the password itself: the environment variable may be read by someone else.
      delete process.env.GRIDFLEX_ADMIN_PASSWORD;
      if (signals.stopWith(() => g.stop())) return;
      say(`Gridflex is running at ${g.address}`);
      say(`  store:    ${g.runtime.store.description}`);
      say(`  API docs: ${g.address}/docs`);
      for (const p of g.polled) say(`  gateway:  polling ${p.devices} devices of ${p.site}`);
      if (g.restored > 0) say(`  gateway:  polling ${g.restored} devices saved over the API`);
      for (const site of g.optimized) say(`  optimizer: planning ${site} live every 15 minutes`);
      for (const p of g.runtime.market?.portfolios ?? [])
        say(`  market:   portfolio ${p.id} (${p.sites.join(', ')}): ${p.products.join(', ')}`);
      for (const c of config.ledger.communities)
        say(`  ledger:   community ${c.id}, billed monthly from the stored readings`);
      say(
        g.admin === 'created'
          ? '  users:    administrator created from GRIDFLEX_ADMIN_PASSWORD'
          : g.admin === 'none'
            ? '  users:    none yet: gridflex user add NAME --role admin (works while this runs)'
            : '  users:    gridflex user add|list|token work while this runs',
      );
      say('Press Ctrl-C to stop.');
    });
}
