import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../../config/load.js';
import { packageRoot } from '../../config/version.js';
import { SitesConfigSchema } from '../../model/index.js';
import { ensureDemoUsers } from '../../server/index.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { startRuntime, stopOnSignals } from '../runtime.js';
import { startBackgroundSimulator } from './sim.js';

export const DemoOptionsSchema = z.object({
  port: PortOptionSchema,
  host: z.string().min(1),
  data: z.string().min(1),
  sites: z.string().min(1).optional(),
  sim: z.string().min(1),
});

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the demo virtual power plant: store, API and web UI (embedded database unless DATABASE_URL is set)',
    )
    .option('--port <n>', 'HTTP port (env PORT)', process.env.PORT ?? '8080')
    .option('--host <addr>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
    .option(
      '--data <dir>',
      'folder of the embedded database and spool (env GRIDFLEX_DATA)',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .option('--sites <file>', 'sites file (YAML or JSON); default: the bundled Bern example')
    .option('--sim <scenario>', 'simulated site to run in-process on ports 5020/5021, or none', 'zev-bern')
    .action(async (raw) => {
      const opts = parseOptions(DemoOptionsSchema, raw, 'demo');
      const sitesFile = opts.sites ?? `${packageRoot()}/deploy/examples/sites.yaml`;
      const { sites } = await loadConfigFile(SitesConfigSchema, sitesFile);
      const rt = await startRuntime({
        dataDir: opts.data,
        databaseUrl: process.env.DATABASE_URL,
        sites,
        logLevel: process.env.LOG_LEVEL ?? 'warn',
      });
      const users = await ensureDemoUsers(rt.store, sites);
      const address = await rt.app.listen({ port: opts.port, host: opts.host });
      console.log('Demo users (new passwords at every start):');
      for (const u of users)
        console.log(`  ${u.role.padEnd(9)} user ${u.username.padEnd(9)} password ${u.password}`);
      console.log(`Gridflex demo is running at ${address}`);
      console.log(`  store:    ${rt.store.description}`);
      console.log(`  API docs: ${address}/docs`);
      console.log(`  health:   ${address}/health`);
      const sim =
        opts.sim === 'none'
          ? null
          : startBackgroundSimulator(
              opts.sim,
              { host: opts.host, portBase: 5020, pkiDir: join(opts.data, 'sim-pki') },
              (line) => console.log(line),
            );
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        async () => {
          await sim?.stop();
          await rt.stop();
        },
        (line) => console.log(line),
      );
    });
}
