import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import {
  type PlannedSchedule,
  portfolioHeadroom,
  type SiteState,
  siteAssets,
  socPoint,
} from '../control/headroom.js';
import { gridMeterPoints, type Site } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { Hub } from '../stream/index.js';
import type { ActivationPlan } from './activation.js';
import type { ActivationExecutor, ExecutionStatus } from './executor.js';
import { checkPortfolios, type Portfolio } from './portfolio.js';
import { DEFAULT_PRODUCTS_FILE, loadProducts } from './product.js';
import { MarketRepository, migrateMarket } from './repository.js';
import { type ProofSeries, proofPoints } from './runtime/proof-log.js';
import { MarketService, type MeterSource, type ProofSource, type TimeRange } from './service.js';

/** The bundled portfolios: `demo` over the simulated zev-bern building. */
export const DEFAULT_PORTFOLIOS_FILE = fileURLToPath(new URL('./portfolios.yaml', import.meta.url));

export interface StartMarketOptions {
  store: Store;
  sites: readonly Site[];
  /** Activation updates are published on the hub's `market` topic (the live SSE stream). */
  hub?: Hub;
  /**
   * Portfolios file. Absent: the bundled one, of which only the portfolios whose sites all run
   * here are kept (the demo with another sites file has no `demo` portfolio). Given: strict,
   * a site or product that does not exist fails with the field named.
   */
  portfoliosFile?: string;
  /** Portfolios already checked against sites and products (gridflex.yaml `market.portfolios`): no file is read. */
  portfolios?: readonly Portfolio[];
  productsFile?: string;
  /** Who drives the devices (market/runtime's GatewayExecutor). Absent: activations fail at dispatch, saying why. */
  executor?: ActivationExecutor;
  /** The site's latest optimiser plan (optimizer/plan-store.ts `latest`); absent or null: the fallback from asset limits. */
  plans?: (siteId: string) => Promise<PlannedSchedule | null>;
  /** Grid meter power points per site (W, import positive, summed); default: model `gridMeterPoints`. */
  gridMeters?: Record<string, string[]>;
  now?: () => number;
  /** How often open activations are advanced (`MarketService.tick`), ms; 0 = never (tests tick themselves). */
  tickMs?: number;
}

export interface RunningMarket {
  service: MarketService;
  portfolios: Portfolio[];
  stop(): Promise<void>;
}

/**
 * Refuses every dispatch with a reason the operator reads in the activation's history: used
 * when no executor is wired (no device the market may move), so nothing pretends to deliver.
 */
export class NoExecutor implements ActivationExecutor {
  async start(plan: ActivationPlan): Promise<ExecutionStatus> {
    throw new Error(
      `no market executor runs here: no device of ${plan.sites.map((s) => s.siteId).join(', ')} is set up to be moved by the market`,
    );
  }
  async stop(activationId: string): Promise<ExecutionStatus> {
    return { activationId, state: 'done', sites: [], updatedMs: Date.now() };
  }
  status(): ExecutionStatus | undefined {
    return undefined;
  }
}

async function latestValue(store: Store, pointId: string, nowMs: number): Promise<number | undefined> {
  try {
    const r = await store.readings.range({ pointId, from: nowMs - 3_600_000, to: nowMs + 1, bucketMs: null });
    const last = r.raw.filter((x) => x.value !== null).at(-1);
    return last?.value ?? undefined;
  } catch {
    // An unknown point (nothing stored yet) means the state is unknown: the fallback applies.
    return undefined;
  }
}

/**
 * Mean grid import per interval, kW, from the store's bucketed readings (W): the sum over the
 * site's grid meters; an interval is missing when any meter lacks it.
 */
function storeMeter(store: Store, pointsOf: (siteId: string) => string[]): MeterSource {
  return async (siteId, range, intervalMs) => {
    const n = Math.ceil((range.toMs - range.fromMs) / intervalMs);
    const points = pointsOf(siteId);
    if (points.length === 0) return Array(n).fill(null);
    const sum: (number | null)[] = Array(n).fill(0);
    for (const pointId of points) {
      const one: (number | null)[] = Array(n).fill(null);
      try {
        const r = await store.readings.range({
          pointId,
          from: range.fromMs,
          to: range.fromMs + n * intervalMs,
          bucketMs: intervalMs,
        });
        for (const b of r.buckets) {
          const i = Math.round((b.ts - range.fromMs) / intervalMs);
          if (i >= 0 && i < n && b.mean !== null) one[i] = b.mean / 1000;
        }
      } catch {
        // No readings stored for the point: its intervals stay missing (the report says so).
      }
      for (let i = 0; i < n; i++) sum[i] = sum[i] === null || one[i] === null ? null : sum[i]! + one[i]!;
    }
    return sum;
  };
}

/**
 * The droop's stored proof of a site (`<site>/frequency-response/requested|delivered`, W) as kW
 * series; a point never stored gives an empty series.
 */
export function storeProof(store: Store): ProofSource {
  const series = async (pointId: string, range: TimeRange): Promise<ProofSeries> => {
    try {
      const r = await store.readings.range({ pointId, from: range.fromMs, to: range.toMs, bucketMs: null });
      const raw = r.raw.filter((x) => x.value !== null);
      return { ts: raw.map((x) => x.ts), kw: raw.map((x) => x.value! / 1000) };
    } catch {
      return { ts: [], kw: [] };
    }
  };
  return async (siteId, range) => {
    const [, requested, , delivered] = proofPoints(siteId);
    return { requested: await series(requested.key, range), delivered: await series(delivered.key, range) };
  };
}

/**
 * Build the market for a running process: products, portfolios, the store's market tables,
 * availability from each site's latest plan or its asset limits (control/headroom.ts), delivery
 * measured at the grid meter, and a timer that advances activations.
 */
export async function startMarket(o: StartMarketOptions): Promise<RunningMarket> {
  const now = o.now ?? Date.now;
  const catalog = await loadProducts(o.productsFile ?? DEFAULT_PRODUCTS_FILE);
  const file = o.portfoliosFile ?? DEFAULT_PORTFOLIOS_FILE;
  let data = o.portfolios ? { portfolios: o.portfolios } : await loadConfigFile(z.unknown(), file);
  if (!o.portfoliosFile && !o.portfolios) {
    const running = new Set(o.sites.map((s) => s.id));
    const parsed = z
      .object({ portfolios: z.array(z.object({ sites: z.array(z.string()) }).loose()) })
      .loose();
    const cfg = parsed.safeParse(data);
    if (cfg.success)
      data = {
        ...cfg.data,
        portfolios: cfg.data.portfolios.filter((p) => p.sites.every((s) => running.has(s))),
      };
  }
  const portfolios = checkPortfolios(data, o.sites, catalog, file);
  await migrateMarket(o.store);
  const siteById = new Map(o.sites.map((s) => [s.id, s]));
  const metersOf = (siteId: string): string[] => {
    if (o.gridMeters?.[siteId]) return o.gridMeters[siteId];
    const site = siteById.get(siteId);
    return site ? gridMeterPoints(site) : [];
  };

  const service = new MarketService({
    repo: new MarketRepository(o.store.db),
    catalog,
    portfolios,
    executor: o.executor ?? new NoExecutor(),
    now,
    meter: storeMeter(o.store, metersOf),
    proof: storeProof(o.store),
    ...(o.hub ? { publish: (u) => o.hub!.publish('market', u) } : {}),
    headroom: async (portfolio, range) => {
      const sites = portfolio.sites.map((id) => siteById.get(id)!);
      const states: Record<string, SiteState> = {};
      for (const site of sites) {
        const socPct: Record<string, number | undefined> = {};
        for (const a of siteAssets(site)) {
          const point = socPoint(a);
          if (point) socPct[a.id] = await latestValue(o.store, point, now());
        }
        const plan = o.plans ? await o.plans(site.id).catch(() => null) : null;
        states[site.id] = { plan, socPct };
      }
      return portfolioHeadroom(sites, range, states);
    },
  });

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  const tickMs = o.tickMs ?? 1000;
  if (tickMs > 0)
    timer = setInterval(() => {
      ticking = ticking
        .then(() => service.tick())
        .catch((err: unknown) => console.error(`gridflex: market tick failed: ${(err as Error).message}`));
    }, tickMs);
  return {
    service,
    portfolios,
    stop: async () => {
      if (timer) clearInterval(timer);
      await ticking;
      // Before the gateways close: the devices running activations go back to base.
      await service
        .shutdown()
        .catch((err: unknown) =>
          console.error(
            `gridflex: market shutdown could not release every device: ${(err as Error).message}`,
          ),
        );
    },
  };
}
