import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, validateConfig } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import { type GatewayConfig, GatewayConfigSchema, gatewaySite, toModelDevice } from '../gateway/config.js';
import { ensureCommunityBills } from '../ledger/demo.js';
import { checkPortfolios } from '../market/portfolio.js';
import { DEFAULT_PRODUCTS_FILE, loadProducts } from '../market/product.js';
import { DEFAULT_PORTFOLIOS_FILE } from '../market/start.js';
import { DeviceSchema, type Site, SitesConfigSchema } from '../model/index.js';
import { DEFAULT_TARIFF } from '../optimizer/live.js';
import type { Store } from '../store/index.js';
import type { GridflexConfig } from './config.js';
import { type DemoUser, ensureDemoUsers } from './demo-users.js';
import { DEFAULT_RETENTION } from './retention.js';
import type { Overlay } from './start.js';

/*
 * `gridflex demo` as an overlay on `startGridflex` (issue #12): a configuration built from a
 * sites file and the simulated building, demo users and bills from bundled readings. Imported by
 * the demo command only; nothing on the `run` path imports this file.
 */

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
    import('../sim/scenario.js'),
    import('../sim/endpoints.js'),
    import('../sim/gateway-config.js'),
    import('../sim/physics/simulation.js'),
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

/** The command lease of the simulated battery where the sites file sets none, s (the simulator's own default). */
export const SIMULATED_LEASE_S = 60;

/**
 * The simulated site with battery controls bound to the simulator's SunSpec storage points
 * (mode, charge_rate, discharge_rate of `<building>-battery`, and its revert timeout where the
 * gateway allow-lists it, written as the command lease), where the sites file binds none.
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
        const control: Record<string, string> = Object.fromEntries(points.map((p) => [p, key(p)]));
        if (!writable.has(key('revert_timeout'))) return { ...a, control };
        control.revert_timeout = key('revert_timeout');
        return { ...a, control, lease: a.lease ?? { revertS: SIMULATED_LEASE_S } };
      }),
    })),
  };
}

/**
 * The demo as a configuration `startGridflex` runs like any other: the sites (the simulated
 * one with the simulator's devices, polled and optimised; the others as the sites file has
 * them, stored values only), the bundled portfolios whose sites all run here, no community
 * billed from the store (the demo's bills come from the bundled readings).
 */
export async function demoConfig(
  sites: Site[],
  simulated: GatewayConfig | null,
  opts: { host: string; port: number; data: string; optimize: 'live' | 'none' },
): Promise<GridflexConfig> {
  const running = new Set(sites.map((s) => s.id));
  const bundled = await loadConfigFile(
    z.object({ portfolios: z.array(z.object({ sites: z.array(z.string()) }).loose()) }).loose(),
    DEFAULT_PORTFOLIOS_FILE,
  );
  const portfolios = checkPortfolios(
    { portfolios: bundled.portfolios.filter((p) => p.sites.every((s) => running.has(s))) },
    sites,
    await loadProducts(DEFAULT_PRODUCTS_FILE),
    DEFAULT_PORTFOLIOS_FILE,
  );
  return {
    listen: { host: opts.host, port: opts.port },
    // The demo keeps the defaults of a real installation (PRIVACY.md).
    privacy: { retention: DEFAULT_RETENTION, every: 86_400_000, buildingDevices: [] },
    database: { data: opts.data },
    gateway: { pkiDir: join(opts.data, 'gateway-pki') },
    sites: sites.map((site) => {
      const sim = simulated && simulated.site === site.id;
      return {
        site,
        gateway: sim ? simulated : null,
        tariff: DEFAULT_TARIFF,
        optimizer: { enabled: Boolean(sim) && opts.optimize === 'live' },
      };
    }),
    market: { productsFile: DEFAULT_PRODUCTS_FILE, portfolios },
    ledger: { every: 3_600_000, communities: [] },
  };
}

/** The demo's sites: the sites file, the simulated site's devices and battery controls from the simulator. */
export async function demoSites(
  sitesFile: string | undefined,
  sim: string,
  host: string,
  simPortBase: number,
): Promise<{ sites: Site[]; simulated: GatewayConfig | null }> {
  const { sites: fileSites } = await loadConfigFile(
    SitesConfigSchema,
    sitesFile ?? `${packageRoot()}/deploy/examples/sites.yaml`,
  );
  const simulated = sim === 'none' ? null : await simulatedGateway(sim, host, simPortBase);
  // The simulated battery's SunSpec controls are bound, so the optimiser and the market can move it.
  const sites = simulated
    ? withSimulatedDevices(fileSites, simulated.cfg, simulated.buildingOf).map((s) =>
        s.id === simulated.cfg.site ? withSimulatedControls(s, simulated.cfg) : s,
      )
    : fileSites;
  return { sites, simulated: simulated?.cfg ?? null };
}

/**
 * What the demo adds to a start: a quick gateway retry (a simulator restarted comes back soon), demo
 * users (new passwords at every start, handed to `onUsers`), the bundled bills, and the assumed
 * 8 kW mean base load of the zev-bern building for slots without history.
 */
export function demoOverlay(sites: Site[], onUsers: (users: DemoUser[]) => void): Overlay {
  return {
    gateway: { link: { maxBackoffMs: 5000 } },
    prepare: async (rt) => {
      onUsers(await ensureDemoUsers(rt.store, sites));
      return demoBills(rt.store, sites);
    },
    fallbackLoadKw: () => 8,
  };
}
