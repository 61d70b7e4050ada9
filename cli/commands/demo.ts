import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { demoConfig, demoOverlay, demoSites } from '../../app/demo.js';
import type { DemoUser } from '../../app/demo-users.js';
import { startGridflex } from '../../app/start.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { catchSignals } from '../signals.js';
import { startBackgroundSimulator } from './sim.js';

export const DemoOptionsSchema = z.object({
  port: PortOptionSchema,
  host: z.string().min(1),
  data: z.string().min(1),
  sites: z.string().min(1).optional(),
  sim: z.string().min(1),
  optimize: z.enum(['live', 'none']),
  simPortBase: PortOptionSchema.refine(
    (p) => p >= 1 && p <= 65534,
    'expected a port from 1 to 65534 (OPC UA uses the next one)',
  ),
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
    .option(
      '--sim <scenario>',
      'simulated site to run in-process and poll with the gateway, or none',
      'zev-bern',
    )
    .option('--sim-port-base <p>', "the simulator's Modbus TCP port; OPC UA listens on the next one", '5020')
    .option('--optimize <mode>', 'optimise the simulated site live (optimizer/live.ts), or none', 'live')
    .action(async (raw) => {
      const opts = parseOptions(DemoOptionsSchema, raw, 'demo');
      // Caught from here: a signal while starting stops the demo (and its simulator) once it is up.
      const signals = catchSignals((line) => console.log(line));
      const { sites, simulated } = await demoSites(opts.sites, opts.sim, opts.host, opts.simPortBase);
      // The simulator starts once the API answers, as its own process; the gateways wait for
      // it, so no device is reported down just because the simulated building was starting.
      const simLines: string[] = [];
      let saySim = (line: string) => void simLines.push(line);
      const sim =
        opts.sim === 'none'
          ? null
          : startBackgroundSimulator(
              opts.sim,
              { host: opts.host, portBase: opts.simPortBase, pkiDir: join(opts.data, 'sim-pki') },
              (line) => saySim(line),
            );
      let users: DemoUser[] = [];
      const g = await startGridflex(
        await demoConfig(sites, simulated, opts),
        {
          ...demoOverlay(sites, (u) => {
            users = u;
          }),
          ...(sim ? { startDevices: () => sim.start() } : {}),
        },
        {
          dataDir: opts.data,
          ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
          host: opts.host,
          port: opts.port,
          logLevel: process.env.LOG_LEVEL ?? 'warn',
          say: (line) => console.log(line),
        },
      );
      const stopping = signals.stopWith(async () => {
        await g.stop();
        await sim?.stop();
      });
      if (stopping) return;
      const { address } = g;
      console.log('Demo users (new passwords at every start):');
      for (const u of users)
        console.log(`  ${u.role.padEnd(9)} user ${u.username.padEnd(9)} password ${u.password}`);
      console.log(`Gridflex demo is running at ${address}`);
      console.log(`  store:    ${g.runtime.store.description}`);
      console.log(`  API docs: ${address}/docs`);
      console.log(`  health:   ${address}/health`);
      for (const line of g.overlayLines) console.log(`  ${line}`);
      for (const p of g.runtime.market?.portfolios ?? [])
        console.log(
          `  market:   portfolio ${p.id} (${p.sites.join(', ')}) for the operator: ${p.products.join(', ')}`,
        );
      for (const line of simLines.splice(0)) console.log(line);
      saySim = (line) => void console.log(line);
      const restored = g.restored;
      console.log(
        g.optimized.length > 0
          ? `  optimizer: planning ${g.optimized.join(', ')} live every 15 minutes (plan page: #/site/${g.optimized[0]}/plan)`
          : '  optimizer: off',
      );
      console.log(
        simulated
          ? `  gateway:  polling ${simulated.devices.length} simulated devices of ${simulated.site}` +
              (restored > 0 ? ` and ${restored} saved over the API` : '')
          : `  gateway:  none (--sim none): pages show stored values only${restored > 0 ? `; polling ${restored} devices saved over the API` : ''}`,
      );
      console.log('Press Ctrl-C to stop.');
    });
}
