import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { siteObligations$ } from '../../app/market-obligations.js';
import { restoreSavedDevices, startRuntime } from '../../app/runtime.js';
import { loadConfigFile, validateConfig } from '../../config/load.js';
import { packageRoot } from '../../config/version.js';
import { type GatewayConfig, GatewayConfigSchema, gatewaySite, toModelDevice } from '../../gateway/config.js';
import { ensureCommunityBills } from '../../ledger/index.js';
import { DeviceSchema, type Site, SitesConfigSchema } from '../../model/index.js';
import { ensureDemoUsers } from '../../server/index.js';
import type { Store } from '../../store/index.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { stopOnSignals } from '../signals.js';
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

/**
 * The gateway file of the simulator the demo runs (sim/gateway-config.ts, the one place its
 * register maps are written down), and the building each device belongs to.
 */
export async function simulatedGateway(
  scenarioName: string,
  host: string,
  portBase: number,
): Promise<{ cfg: GatewayConfig; buildingOf: Map<string, string> }> {
  const [{ loadScenario }, { plannedEndpoints }, { gatewayConfigFor }, { Simulation }] = await Promise.all([
    import('../../sim/scenario.js'),
    import('../../sim/endpoints.js'),
    import('../../sim/gateway-config.js'),
    import('../../sim/physics/simulation.js'),
  ]);
  const scenario = await loadScenario(scenarioName);
  const endpoints = plannedEndpoints(scenario, host, portBase);
  const raw = gatewayConfigFor(new Simulation(scenario, { seed: 1, startMs: 0 }), endpoints);
  const cfg = validateConfig(GatewayConfigSchema, raw, `gateway file of the simulated ${scenario.id}`);
  // gatewayConfigFor returns one device per endpoint, in the same order.
  const buildingOf = new Map(cfg.devices.map((d, i) => [d.id, endpoints[i]!.building]));
  return { cfg, buildingOf };
}

/**
 * The demo's sites with the simulated site's devices taken from the simulator: the sites file
 * keeps the site's name, grid connection and assets; a site it does not list is added as is.
 */
export function withSimulatedDevices(
  sites: Site[],
  cfg: GatewayConfig,
  buildingOf: Map<string, string>,
): Site[] {
  const site = sites.find((s) => s.id === cfg.site);
  if (!site) return [...sites, gatewaySite(cfg)];
  const merged: Site = {
    ...site,
    buildings: site.buildings.map((b) => ({
      ...b,
      devices: cfg.devices
        .filter((d) => buildingOf.get(d.id) === b.id)
        .map((d) => DeviceSchema.parse(toModelDevice(d))),
    })),
  };
  return sites.map((s) => (s === site ? merged : s));
}

/**
 * Bills for the demo resident and board: the bundled zev-bern community, billed at start when
 * the ledger holds none of its bills (ledger/demo.ts). Only when the demo runs that site.
 */
async function demoBills(store: Store, sites: Site[]): Promise<string[]> {
  const root = `${packageRoot()}/deploy/examples`;
  if (!sites.some((s) => s.id === 'zev-bern')) return [];
  try {
    const r = await ensureCommunityBills(store, {
      communityFile: `${root}/zev-bern-community.yaml`,
      readingsFile: `${root}/zev-bern-readings.csv.gz`,
      nowMs: Date.now(),
    });
    if (r.periods.length === 0) return [`ledger:   no complete month of readings for ${r.community} yet`];
    return r.periods.map(
      (p) =>
        `ledger:   ${p.bills} bills for ${p.label} (${r.community}, ${p.source === 'ledger' ? 'issued before' : `from the ${p.source} readings`})`,
    );
  } catch (err) {
    // The demo still runs without bills; say why instead of hiding it.
    return [`ledger:   no demo bills: ${(err as Error).message}`];
  }
}

/**
 * The simulated site with battery controls bound to the simulator's SunSpec storage points
 * (mode, charge_rate, discharge_rate of `<building>-battery`), where the sites file binds none.
 */
export function withSimulatedControls(site: Site, cfg: GatewayConfig): Site {
  const writable = new Set(
    cfg.devices.flatMap((d) => d.points.filter((p) => p.writable).map((p) => `${cfg.site}/${d.id}/${p.id}`)),
  );
  return {
    ...site,
    buildings: site.buildings.map((b) => ({
      ...b,
      assets: b.assets.map((a) => {
        const key = (point: string) => `${site.id}/${b.id}-${a.id}/${point}`;
        const points = ['mode', 'charge_rate', 'discharge_rate'] as const;
        if (
          a.type !== 'battery' ||
          Object.keys(a.control).length > 0 ||
          !points.every((p) => writable.has(key(p)))
        )
          return a;
        return { ...a, control: Object.fromEntries(points.map((p) => [p, key(p)])) };
      }),
    })),
  };
}

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
      const sitesFile = opts.sites ?? `${packageRoot()}/deploy/examples/sites.yaml`;
      const { sites: fileSites } = await loadConfigFile(SitesConfigSchema, sitesFile);
      const simulated =
        opts.sim === 'none' ? null : await simulatedGateway(opts.sim, opts.host, opts.simPortBase);
      // The simulated battery's SunSpec controls are bound, so the optimiser and the market can move it.
      const sites = simulated
        ? withSimulatedDevices(fileSites, simulated.cfg, simulated.buildingOf).map((s) =>
            s.id === simulated.cfg.site ? withSimulatedControls(s, simulated.cfg) : s,
          )
        : fileSites;
      const rt = await startRuntime({
        dataDir: opts.data,
        databaseUrl: process.env.DATABASE_URL,
        sites,
        logLevel: process.env.LOG_LEVEL ?? 'warn',
        // The simulator starts a few seconds after the gateway: retry soon, not after a minute.
        gateway: { link: { maxBackoffMs: 5000 }, opcua: { pkiDir: join(opts.data, 'gateway-pki') } },
        market: true,
      });
      const users = await ensureDemoUsers(rt.store, sites);
      const ledgerLines = await demoBills(rt.store, sites);
      const address = await rt.app.listen({ port: opts.port, host: opts.host });
      console.log('Demo users (new passwords at every start):');
      for (const u of users)
        console.log(`  ${u.role.padEnd(9)} user ${u.username.padEnd(9)} password ${u.password}`);
      console.log(`Gridflex demo is running at ${address}`);
      console.log(`  store:    ${rt.store.description}`);
      console.log(`  API docs: ${address}/docs`);
      console.log(`  health:   ${address}/health`);
      for (const line of ledgerLines) console.log(`  ${line}`);
      for (const p of rt.market?.portfolios ?? [])
        console.log(
          `  market:   portfolio ${p.id} (${p.sites.join(', ')}) for the operator: ${p.products.join(', ')}`,
        );
      const sim =
        opts.sim === 'none'
          ? null
          : startBackgroundSimulator(
              opts.sim,
              { host: opts.host, portBase: opts.simPortBase, pkiDir: join(opts.data, 'sim-pki') },
              (line) => console.log(line),
            );
      // The gateway connects on its own once the simulator listens (it retries with backoff).
      if (simulated) await rt.gateways.add(simulated.cfg);
      const restored = await restoreSavedDevices(rt);
      const demoSite = simulated && sites.find((s) => s.id === simulated.cfg.site);
      const optimizer =
        opts.optimize === 'live' && simulated && demoSite
          ? await (await import('../../optimizer/live-runtime.js')).startLiveOptimizer({
              site: demoSite,
              readings$: rt.hub.readings$,
              store: rt.store,
              // Devices a market activation holds are left to it until it is done.
              write: rt.yieldingWrite,
              // Assumed mean base load of the zev-bern building, for slots without history yet.
              meanLoadKw: 8,
              // Accepted bids keep their capacity free in the plan (LP reservations).
              ...(rt.market
                ? {
                    obligations$: siteObligations$(rt.market, rt.hub, demoSite.id, {
                      say: (line) => console.log(`  ${line}`),
                    }),
                  }
                : {}),
              say: (line) => console.log(`  ${line}`),
            })
          : null;
      console.log(
        optimizer
          ? `  optimizer: planning ${simulated?.cfg.site} live every 15 minutes (plan page: #/site/${simulated?.cfg.site}/plan)`
          : '  optimizer: off',
      );
      console.log(
        simulated
          ? `  gateway:  polling ${simulated.cfg.devices.length} simulated devices of ${simulated.cfg.site}` +
              (restored > 0 ? ` and ${restored} saved over the API` : '')
          : `  gateway:  none (--sim none): pages show stored values only${restored > 0 ? `; polling ${restored} devices saved over the API` : ''}`,
      );
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        async () => {
          // The gateway first: stopping it while its devices still answer is quick and clean.
          await optimizer?.stop();
          await rt.stop();
          await sim?.stop();
        },
        (line) => console.log(line),
      );
    });
}
