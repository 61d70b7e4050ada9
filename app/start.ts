import { join, resolve } from 'node:path';
import type { GatewayOptions } from '../gateway/index.js';
import type { Site } from '../model/index.js';
import { gridPowerPoints } from '../optimizer/live.js';
import { startLiveOptimizer } from '../optimizer/live-runtime.js';
import { listenOrExplain } from '../server/index.js';
import type { Store } from '../store/index.js';
import type { SiteAddress } from '../uplink/index.js';
import type { GridflexConfig } from './config.js';
import { startControlSocket } from './control.js';
import { EdgeDispatch, forwardObligations } from './edge-dispatch.js';
import { type BillingOutcome, startLedgerScheduler } from './ledger-scheduler.js';
import { siteObligations$ } from './market-obligations.js';
import { spotSource, weatherSource } from './price-sources.js';
import { QueueSolver } from './queue-solver.js';
import { startRetentionScheduler } from './retention-scheduler.js';
import { type Runtime, restoreSavedDevices, startRuntime } from './runtime.js';
import { checkUplinkWorkers, startCentralUplink } from './uplink.js';
import { ensureFirstAdmin } from './users.js';

const DAY_MS = 86_400_000;

/**
 * What an overlay (`gridflex demo`) adds to a start, without a wiring of its own: options for
 * the gateways (a simulator that starts late), devices started once the server listens, and
 * work once it listens (demo users, bundled bills). `run` passes none.
 */
export interface Overlay {
  gateway?: GatewayOptions;
  /** Once the server listens (it answers meanwhile; a login before its user exists is refused); lines to print. */
  prepare?(rt: Runtime): Promise<string[]>;
  /** Base load (kW) for slots without history, per site, where the configuration names none. */
  fallbackLoadKw?(site: Site): number | undefined;
  /**
   * Starts the overlay's devices (the demo's simulator, its own process) once the server
   * listens, so their start does not take CPU from the controller's; settles when they can
   * answer. The gateways start after it, or after DEVICES_READY_MAX_MS, so a start does not
   * print every device as down.
   */
  startDevices?(): Promise<void>;
}

/** The longest a start waits for an overlay's devices before polling them anyway. */
const DEVICES_READY_MAX_MS = 30_000;

export interface StartEnv {
  /** Log level of the HTTP server (pino). */
  logLevel?: string;
  /** PostgreSQL URL; wins over the file's `database.url` (DATABASE_URL). */
  databaseUrl?: string;
  /** Data folder; wins over the file's `database.data` (GRIDFLEX_DATA, --data). */
  dataDir?: string;
  /** Listen address; wins over the file's `listen` (--host, --port). */
  host?: string;
  port?: number;
  /** The first administrator's password (GRIDFLEX_ADMIN_PASSWORD), used on a store without users only. */
  adminPassword?: string;
  adminUser?: string;
  /** Plain progress lines (the CLI prints them). */
  say?: (line: string) => void;
}

/** A running Gridflex (`startGridflex`). */
export interface RunningGridflex {
  runtime: Runtime;
  address: string;
  /** Sites the live optimiser plans. */
  optimized: string[];
  /** Sites whose devices the gateway polls, with how many devices. */
  polled: { site: string; devices: number }[];
  /** Devices saved over the API in earlier runs, polled again. */
  restored: number;
  admin: 'created' | 'exists' | 'none';
  /** Lines of the overlay's `prepare`. */
  overlayLines: string[];
  /** Bill every closed month that has not been billed (also runs on its own). */
  billNow(): Promise<BillingOutcome[]>;
  stop(): Promise<void>;
}

/**
 * Sites of the file that an edge serves (`uplink.edges`, `tenant/site` → edge): their edge
 * polls and writes their devices, central plans them and sends commands.
 */
export function edgeServedSites(config: Pick<GridflexConfig, 'uplink' | 'sites'>): Map<string, SiteAddress> {
  const ids = new Set(config.sites.map((s) => s.site.id));
  const out = new Map<string, SiteAddress>();
  for (const key of Object.keys(config.uplink?.edges ?? {})) {
    const [tenant, site] = key.split('/') as [string, string];
    if (ids.has(site)) out.set(site, { tenant, site });
  }
  return out;
}

/** A site the optimiser can move: an asset with at least one control binding. */
export const controllable = (site: Site) =>
  site.buildings.some((b) => b.assets.some((a) => Object.keys(a.control).length > 0));

/**
 * The base load for slots the store has no history of: the configured value, else the mean
 * grid import stored over the last four weeks, else a tenth of the import limit (a guess the
 * start line states). Only the fallback: slots with history are forecast from the history.
 */
async function fallbackLoad(
  store: Store,
  site: Site,
  configured: number | undefined,
  nowMs: number,
): Promise<{ kw: number; from: string }> {
  if (configured !== undefined) return { kw: configured, from: 'configured' };
  const means: number[] = [];
  for (const pointId of gridPowerPoints(site)) {
    const r = await store.readings
      .range({ pointId, from: nowMs - 28 * DAY_MS, to: nowMs, bucketMs: DAY_MS })
      .catch(() => null);
    for (const b of r?.buckets ?? []) if (b.mean !== null && b.count > 0) means.push(b.mean / 1000);
  }
  if (means.length > 0)
    return { kw: Math.max(0.1, means.reduce((a, b) => a + b, 0) / means.length), from: 'stored mean' };
  return { kw: site.grid.importLimitKw / 10, from: 'a tenth of the import limit, no history yet' };
}

/**
 * The composition root: the one place that starts gateway, optimiser, market and ledger
 * together. Opens the store and runs every module's migrations once, starts the hub, the store
 * writer, a gateway per site with devices, the write arbiter (a device a market activation
 * holds is refused to the optimiser), the market with the configured portfolios, one live
 * optimiser per site with a controllable asset (forecasts from that site's stored history), the
 * ledger scheduler (every closed month of every community, from the stored readings), the
 * control socket for user management (embedded database only) and the HTTP server.
 */
export async function startGridflex(
  config: GridflexConfig,
  overlay: Overlay = {},
  env: StartEnv = {},
): Promise<RunningGridflex> {
  const say = env.say ?? (() => {});
  const dataDir = resolve(env.dataDir ?? config.database.data);
  const databaseUrl = env.databaseUrl ?? config.database.url;
  checkUplinkWorkers(config.uplink, databaseUrl);
  const sites = config.sites.map((s) => s.site);
  const edgeServed = edgeServedSites(config);
  const rt = await startRuntime({
    edgeSites: new Set(edgeServed.keys()),
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    sites,
    siteCurrencies: Object.fromEntries(config.sites.map((s) => [s.site.id, s.tariff.currency])),
    logLevel: env.logLevel ?? 'warn',
    gateway: {
      opcua: { pkiDir: config.gateway.pkiDir ?? join(dataDir, 'gateway-pki') },
      ...overlay.gateway,
    },
    market: true,
    portfolios: config.market.portfolios,
    productsFile: config.market.productsFile,
    communities: config.ledger.communities,
    buildingDevices: config.privacy.buildingDevices,
  });
  const stops: (() => Promise<void>)[] = [];
  try {
    const admin = await ensureFirstAdmin(rt.store, { password: env.adminPassword, username: env.adminUser });
    // Sites served by an edge report over MQTT: their readings come in through central's ingest.
    if (config.uplink) {
      // Edge-served sites' readings reach the live optimiser and the live API once committed.
      const uplink = await startCentralUplink(config.uplink, rt.store, (readings) =>
        rt.hub.publishReadings(readings.filter((r) => edgeServed.has(r.pointId.split('/', 1)[0]!))),
      );
      stops.push(() => uplink.close());
      say(`  uplink:   consuming edge telemetry from ${config.uplink.broker}`);
      if (edgeServed.size > 0) {
        const dispatch = new EdgeDispatch(uplink, {
          sites: edgeServed,
          leaseMs: config.uplink.lease,
          answerMs: config.uplink.answerTimeout,
          say: (line) => say(`  ${line}`),
        });
        // Before the ingest closes: no renewal after it, so the edges' leases run out.
        stops.push(async () => dispatch.close());
        rt.gateways.routeToEdges(dispatch);
        // Frequency products are the edge's to answer: it gets the sites' obligations.
        if (rt.market)
          for (const [site, addr] of edgeServed) {
            const sub = forwardObligations(uplink, addr, siteObligations$(rt.market, rt.hub, site), (line) =>
              say(`  ${line}`),
            );
            stops.push(async () => sub.unsubscribe());
          }
        for (const [site, addr] of edgeServed)
          say(`  uplink:   ${site} served by an edge (${addr.tenant}): planned here, dispatched through it`);
      }
    }
    if (!databaseUrl) {
      const control = await startControlSocket(rt.store, dataDir);
      stops.push(() => control.close());
    }
    const address = await listenOrExplain(rt.app, {
      port: env.port ?? config.listen.port,
      host: env.host ?? config.listen.host,
    });
    // The overlay's data (the demo's users and bills) only fills the store: the server answers
    // meanwhile (a login before its user exists is refused like any unknown user).
    const devicesReady = overlay.startDevices?.();
    const overlayLines = overlay.prepare ? await overlay.prepare(rt) : [];
    if (devicesReady) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        devicesReady,
        new Promise<void>((r) => {
          timer = setTimeout(r, DEVICES_READY_MAX_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    const polled: RunningGridflex['polled'] = [];
    for (const s of config.sites)
      if (s.gateway && !edgeServed.has(s.site.id)) {
        await rt.gateways.add(s.gateway);
        polled.push({ site: s.site.id, devices: s.gateway.devices.length });
      }
    const restored = await restoreSavedDevices(rt);
    // uplink.workers: the live optimisers' LPs are solved by `gridflex worker` processes.
    const lpSolver = config.uplink?.workers ? await QueueSolver.open({ url: databaseUrl ?? '' }) : undefined;
    if (lpSolver) {
      stops.push(() => lpSolver.close());
      say('  optimizer: solving on gridflex worker processes (job queue in PostgreSQL)');
    }
    const optimized: string[] = [];
    for (const s of config.sites) {
      if (!s.optimizer.enabled || !controllable(s.site)) continue;
      const load = await fallbackLoad(
        rt.store,
        s.site,
        s.optimizer.fallbackLoadKw ?? overlay.fallbackLoadKw?.(s.site),
        Date.now(),
      );
      const optimizer = await startLiveOptimizer({
        site: s.site,
        readings$: rt.hub.readings$,
        store: rt.store,
        // The write arbiter: devices a market activation holds are left to it until it is done.
        write: rt.yieldingWrite,
        // Every writer's records (market, users): what the devices hold, so nothing is rewritten unchanged.
        writes$: rt.hub.topic('writes'),
        tariff: s.tariff,
        ...(s.siteTariff ? { siteTariff: s.siteTariff } : {}),
        ...(s.prices
          ? {
              spot: spotSource(s.prices, {
                currency: s.siteTariff?.currency ?? s.tariff.currency,
                env: process.env,
                at: `sites[${config.sites.indexOf(s)}].prices`,
              }),
            }
          : {}),
        ...(s.weather
          ? {
              weather: weatherSource(s.weather, s.site.location),
              pvArrays: Object.values(s.weather.pv).flat(),
            }
          : {}),
        meanLoadKw: load.kw,
        ...(lpSolver ? { solver: lpSolver } : {}),
        // Accepted bids keep their capacity free in the plan (LP reservations).
        ...(rt.market
          ? { obligations$: siteObligations$(rt.market, rt.hub, s.site.id, { say: (l) => say(`  ${l}`) }) }
          : {}),
        say: (line) => say(`  ${line}`),
      });
      stops.push(() => optimizer.stop());
      optimized.push(s.site.id);
      if (load.from !== 'configured')
        say(`  optimizer: ${s.site.id}: base load without history ${load.kw.toFixed(1)} kW (${load.from})`);
    }
    const ledger = startLedgerScheduler({
      store: rt.store,
      communities: config.ledger.communities,
      everyMs: config.ledger.every,
      say: (line) => say(`  ${line}`),
    });
    stops.push(() => ledger.stop());
    // Household interval data is kept only as long as billing needs it (PRIVACY.md).
    const retention = startRetentionScheduler({
      store: rt.store,
      retention: config.privacy.retention,
      communities: config.ledger.communities,
      buildingDevices: config.privacy.buildingDevices,
      everyMs: config.privacy.every,
      say: (line) => say(`  ${line}`),
    });
    stops.push(() => retention.stop());
    // The first pass runs in the background: billing a year of months must not hold up the start.
    void ledger
      .pass()
      .catch(() => {})
      .then(() => retention.pass())
      .catch(() => {});
    let stopping: Promise<void> | null = null;
    return {
      runtime: rt,
      address,
      optimized,
      polled,
      restored,
      admin,
      overlayLines,
      billNow: () => ledger.pass(),
      stop: () => {
        stopping ??= (async () => {
          for (const stop of stops.reverse()) await stop().catch(() => {});
          await rt.stop();
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rt.stop();
    throw err;
  }
}
