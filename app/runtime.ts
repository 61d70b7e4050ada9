import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { filter } from 'rxjs';
import { VERSION } from '../config/version.js';
import {
  Gateway,
  type GatewayConfig,
  type GatewayOptions,
  refusedWrite,
  type WriteRecord,
  type WriteRequest,
} from '../gateway/index.js';
import { SetpointWriteRepository } from '../gateway/write-log.js';
import type { CommunityConfig } from '../ledger/index.js';
import type { Portfolio } from '../market/portfolio.js';
import { loadProducts } from '../market/product.js';
import { MarketRepository } from '../market/repository.js';
import { WRITE_CONCURRENCY } from '../market/runtime/executor.js';
import { proofPoints } from '../market/runtime/proof-log.js';
import { type RunningMarket, startMarket } from '../market/start.js';
import { listPoints, type Site } from '../model/index.js';
import { PlanRepository } from '../optimizer/plan-store.js';
import type { DeviceHost } from '../server/context.js';
import { AuditLog, buildApp } from '../server/index.js';
import { openStore, type Store } from '../store/index.js';
import { DiskQueue, Hub, StoreWriter } from '../stream/index.js';
import { SiteDevices } from './devices.js';
import { householdDevices } from './devices-privacy.js';
import { frequencyPointOf, SiteDroop } from './droop.js';
import type { EdgeDispatch } from './edge-dispatch.js';
import { eraseHouseholdData } from './erasure.js';
import { type MarketDispatch, marketDispatch, yieldingToMarket } from './market-executor.js';
import { siteObligations$ } from './market-obligations.js';
import { migrateAll } from './migrate.js';
import { billedUntil } from './retention-scheduler.js';
import { serverModules } from './server-modules.js';

export interface RuntimeOptions {
  dataDir: string;
  databaseUrl?: string;
  sites: Site[];
  /** Each site's currency (its tariff's): the pages price in it before any plan exists. */
  siteCurrencies?: Record<string, string>;
  logLevel: string;
  /** Options of every gateway the runtime starts (link backoff, OPC UA client PKI folder). */
  gateway?: GatewayOptions;
  /** Run the market (market/start.ts: bundled portfolios, availability, activations) for the operator API. */
  market?: boolean;
  /** The market's portfolios, already checked (gridflex.yaml); absent: the bundled ones whose sites run here. */
  portfolios?: readonly Portfolio[];
  /** Product catalogue file; absent: the bundled one. */
  productsFile?: string;
  /** The billed communities (names, addresses and accounts on the bills). */
  communities?: readonly CommunityConfig[];
  /** Flat meters the configuration declares building devices (`site/device`): not masked. */
  buildingDevices?: readonly string[];
  /**
   * Sites served by an edge (gridflex.yaml `uplink.edges`): central's ingest stores their
   * readings before it publishes them on the hub, so the store writer leaves them alone.
   */
  edgeSites?: ReadonlySet<string>;
}

/** The running core: store, hub, store writer (with its disk spool) and the HTTP app. */
export interface Runtime {
  store: Store;
  hub: Hub;
  writer: StoreWriter;
  app: FastifyInstance;
  /** Hand `audit.append` to modules that must record what they did (setpoint writes, activations). */
  audit: AuditLog;
  sites: Site[];
  /** Gateways polling into the hub; devices saved over the API are added here while running. */
  gateways: LiveGateways;
  market?: RunningMarket;
  /** Frequency response per site holding a droop product (app/droop.ts). */
  droops: ReadonlyMap<string, SiteDroop>;
  /** The market's executor over the gateways (absent: no site has a market-movable asset, or no market). */
  marketDispatch?: MarketDispatch;
  /**
   * The gateways' write for other writers (the live optimiser): a device a market activation
   * holds is refused (`held by market activation <id>`) until the activation is done.
   */
  yieldingWrite(req: WriteRequest & { site: string }): Promise<WriteRecord>;
  stop(): Promise<void>;
}

/**
 * Compose the core every long-running command shares. Readings published on the hub are
 * batched into the store; while the store is down they spool to `<data>/spool`.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const dataDir = resolve(options.dataDir);
  const store = await openStore(options.databaseUrl ? { url: options.databaseUrl } : { dataDir });
  // Every module's tables, once, before anything reads or writes them.
  await migrateAll(store);
  // The sites' points, and the frequency-response proof of each that can follow the frequency (app/droop.ts).
  await store.readings.describePoints([
    ...listPoints(options.sites),
    ...options.sites.filter((s) => frequencyPointOf(s) !== undefined).flatMap((s) => proofPoints(s.id)),
  ]);
  const hub = new Hub();
  const disk = await DiskQueue.open(join(dataDir, 'spool'));
  const edgeSites = options.edgeSites ?? new Set<string>();
  const writer = new StoreWriter(store.readings, { disk }).start(
    edgeSites.size === 0
      ? hub.readings$
      : hub.readings$.pipe(filter((r) => !edgeSites.has(r.pointId.slice(0, r.pointId.indexOf('/'))))),
  );
  // Every write and refusal goes to the `setpoint_writes` table, which the manager's writes page reads.
  const writeLog = await SetpointWriteRepository.open(store);
  const gateways = new LiveGateways(hub, { ...options.gateway, writeLog });
  const audit = new AuditLog(store.db);
  // …and to the audit log, beside logins and configuration changes.
  hub.topic('writes').subscribe((w) => {
    audit
      .append({
        actor: w.who,
        action: 'setpoint_write',
        target: `${w.site}/${w.device}/${w.point}`,
        outcome:
          w.outcome === 'written'
            ? 'ok'
            : w.outcome === 'refused' || w.outcome === 'rejected'
              ? 'refused'
              : 'failed',
        details: { ...w },
      })
      .catch((err: unknown) => console.error(`gridflex: audit of a write failed: ${(err as Error).message}`));
  });
  // Availability reads each site's latest optimiser plan when one is stored, else asset limits.
  const plans = new PlanRepository(store.db);
  // Activations are written through the gateway polling each device; NoExecutor where nothing may be moved.
  // Frequency response started below takes devices of its own: activations leave them alone.
  const droops = new Map<string, SiteDroop>();
  const dispatch = options.market
    ? (marketDispatch({
        sites: options.sites,
        hub,
        gateways,
        heldElsewhere: (site, device) => droops.get(site)?.heldBy(device) !== undefined,
      }) ?? undefined)
    : undefined;
  const market = options.market
    ? await startMarket({
        store,
        sites: options.sites,
        hub,
        plans: (site) => plans.latest(site),
        ...(options.portfolios ? { portfolios: options.portfolios } : {}),
        ...(options.productsFile ? { productsFile: options.productsFile } : {}),
        ...(dispatch ? { executor: dispatch.executor } : {}),
      })
    : undefined;
  // Which activation holds a device is the executor's; what it is for (product, kW), the market's record.
  const marketRepo = new MarketRepository(store.db);
  // Sites holding FCR-N/FCR-D follow the frequency here, in this process (app/droop.ts); a site
  // an edge serves is the edge's to answer (not done yet: uplink/README.md).
  if (market && dispatch) {
    const catalog = await loadProducts(options.productsFile);
    const heldByMarket = dispatch.heldBy;
    for (const site of options.sites) {
      if (edgeSites.has(site.id) || !frequencyPointOf(site)) continue;
      droops.set(
        site.id,
        new SiteDroop({
          site,
          catalog,
          readings$: hub.readings$,
          commitments$: siteObligations$(market, hub, site.id),
          assets: () =>
            dispatch.assetsNow(site.id).filter((a) => heldByMarket(site.id, a.device) === undefined),
          // A device an activation holds is refused to the response, as to the optimiser.
          port: { write: yieldingToMarket((r) => gateways.write(r.site, r), heldByMarket) },
          lastValue: (k) => dispatch.lastValue(k),
          proof: (readings) => hub.publishReadings(readings),
          say: (line) => console.log(`  ${line}`),
        }),
      );
    }
  }
  const heldBy = (site: string, device: string) =>
    dispatch?.heldBy(site, device) ?? droops.get(site)?.heldBy(device);
  const yieldingWrite = yieldingToMarket(
    (r) => gateways.write(r.site, r),
    heldBy,
    (record) => hub.publish('writes', record),
  );
  const app = await buildApp(
    {
      store,
      hub,
      writer,
      sites: options.sites,
      version: VERSION,
      devices: gateways,
      market: market?.service,
      ...(dispatch
        ? {
            // Activations' holds, then the frequency response's (app/droop.ts).
            assetHolds: async (site: string) => [
              ...(await dispatch.holds(site, async (id) => (await marketRepo.activation(id))?.plan)),
              ...(droops.get(site)?.holds() ?? []),
            ],
          }
        : {}),
      modules: await serverModules(store),
      ...(options.gateway?.opcua?.pkiDir ? { opcuaPkiDir: options.gateway.opcua.pkiDir } : {}),
      ...(options.communities ? { communities: options.communities } : {}),
      ...(options.siteCurrencies ? { siteCurrencies: options.siteCurrencies } : {}),
      // Privacy by design (PRIVACY.md): flat meters are masked for managers and operators, and a
      // resident may erase its flat's billed interval data.
      householdDevices: householdDevices(options.communities ?? [], options.buildingDevices),
      erasure: {
        erase: async (unit) =>
          eraseHouseholdData(store, options.communities ?? [], unit, {
            billedUntilMs: await billedUntil(store, options.communities ?? []),
            ...(options.buildingDevices ? { buildingDevices: options.buildingDevices } : {}),
          }),
      },
    },
    { logger: { level: options.logLevel } },
  );
  writer.status$.subscribe((s) => {
    if (s.lastError && s.state === 'retrying')
      app.log.warn({ writer: s }, `store writes failing, spooling to disk: ${s.lastError}`);
  });
  let stopping: Promise<void> | null = null;
  return {
    store,
    hub,
    writer,
    app,
    audit,
    sites: options.sites,
    gateways,
    market,
    ...(dispatch ? { marketDispatch: dispatch } : {}),
    droops,
    yieldingWrite,
    stop: () => {
      stopping ??= (async () => {
        // Frequency response first: its assets back to base while the gateways still run.
        for (const d of droops.values()) await d.stop().catch(() => {});
        await market?.stop();
        dispatch?.close();
        await app.close();
        await gateways.stop();
        hub.close();
        await writer.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}

/**
 * The gateways of a running process. Each `add` polls its devices with a gateway of its own;
 * a device id that is already polled is taken out of its old gateway first (which restarts
 * with the rest), so a re-mapped device is never polled twice.
 */
export class LiveGateways implements DeviceHost {
  private readonly running: Gateway[] = [];
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private edges: EdgeDispatch | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly options: GatewayOptions = {},
  ) {}

  /** Writes to the sites `dispatch` serves go to their edge from now on (`gridflex run` with `uplink.edges`). */
  routeToEdges(dispatch: EdgeDispatch): void {
    this.edges = dispatch;
  }

  add(cfg: GatewayConfig): Promise<void> {
    const next = this.queue.then(() => this.replace(cfg));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async replace(cfg: GatewayConfig): Promise<void> {
    if (this.stopped) return;
    const ids = new Set(cfg.devices.map((d) => d.id));
    for (const [i, gw] of [...this.running.entries()].reverse()) {
      if (gw.cfg.site !== cfg.site || !gw.cfg.devices.some((d) => ids.has(d.id))) continue;
      this.running.splice(i, 1);
      await gw.stop();
      const rest = gw.cfg.devices.filter((d) => !ids.has(d.id));
      if (rest.length > 0) this.launch({ ...gw.cfg, devices: rest });
    }
    this.launch(cfg);
  }

  private launch(cfg: GatewayConfig): void {
    const gw = new Gateway(cfg, this.hub, this.options);
    gw.start();
    this.running.push(gw);
  }

  /** The safety-layer write of the gateway that polls `device` of `site`; refused when none does. */
  write(site: string, req: WriteRequest): Promise<WriteRecord> {
    if (this.edges?.serves(site)) return this.writeThroughEdge(this.edges, site, req);
    const gw = this.running.find(
      (g) => g.cfg.site === site && g.cfg.devices.some((d) => d.id === req.device),
    );
    if (gw) return gw.write(req);
    return Promise.resolve(refusedWrite(site, req, 'no running gateway polls this device', Date.now()));
  }

  /**
   * Several writes as one batch per gateway (its `writeMany`), a record per request in request
   * order. A site an edge serves keeps the write-by-write path, with as many in flight as the
   * market's executor allows per device (it batches per device).
   */
  async writeMany(site: string, reqs: WriteRequest[]): Promise<WriteRecord[]> {
    const out: WriteRecord[] = new Array(reqs.length);
    if (this.edges?.serves(site)) {
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < reqs.length; i = next++) out[i] = await this.write(site, reqs[i]!);
      };
      await Promise.all(Array.from({ length: WRITE_CONCURRENCY.perDevice }, worker));
      return out;
    }
    const byGateway = new Map<Gateway, number[]>();
    reqs.forEach((req, i) => {
      const gw = this.running.find(
        (g) => g.cfg.site === site && g.cfg.devices.some((d) => d.id === req.device),
      );
      if (!gw) out[i] = refusedWrite(site, req, 'no running gateway polls this device', Date.now());
      else byGateway.set(gw, [...(byGateway.get(gw) ?? []), i]);
    });
    await Promise.all(
      [...byGateway].map(async ([gw, idx]) => {
        const records = await gw.writeMany(idx.map((i) => reqs[i]!));
        idx.forEach((i, k) => {
          out[i] = records[k]!;
        });
      }),
    );
    return out;
  }

  /** An edge's answer recorded as a gateway records its writes: on the hub and in the write log. */
  private async writeThroughEdge(edges: EdgeDispatch, site: string, req: WriteRequest): Promise<WriteRecord> {
    const record = await edges.write(site, { ...req, site });
    this.hub.publish('writes', record);
    await this.options.writeLog?.append(record).catch((err: Error) => {
      console.error(`gridflex: write log of an edge write failed: ${err.message}`);
    });
    return record;
  }

  /** Device ids polled now, per site (for the demo's summary and tests). */
  devices(): string[] {
    return this.running.flatMap((g) => g.cfg.devices.map((d) => `${g.cfg.site}/${d.id}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
    await Promise.all(this.running.splice(0).map((g) => g.stop()));
  }
}

/**
 * Devices saved over the API in earlier runs: into the sites, and polled. Returns how many.
 * Ones that collide with the configuration file (app/devices.ts `SiteDevices.restore`) are skipped.
 */
export async function restoreSavedDevices(rt: Runtime): Promise<number> {
  const { restored } = await new SiteDevices({
    store: rt.store,
    sites: rt.sites,
    host: rt.gateways,
  }).restore();
  return restored;
}
