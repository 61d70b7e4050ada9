import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { simulatedGateway, withSimulatedControls, withSimulatedDevices } from '../app/demo.js';
import { type DemoUser, ensureDemoUsers } from '../app/demo-users.js';
import { migrateAll } from '../app/migrate.js';
import { type Runtime, type RuntimeOptions, startRuntime } from '../app/runtime.js';
import type { Obligation } from '../market/bids.js';
import { MarketRepository } from '../market/repository.js';
import { type RunningMarket, type StartMarketOptions, startMarket } from '../market/start.js';
import { listPoints, type Site } from '../model/index.js';
import type { RunningSimulator } from '../sim/runner.js';
import { freePortPair } from '../sim/testing.js';
import { openStore, type Store } from '../store/index.js';
import { startZevBernSimulator } from './simulator.js';
import { exampleSites } from './sites.js';
import { until } from './wait.js';

const H = 3_600_000;
/** The demo's site with a simulator of its own (`gridflex demo`). */
export const ZEV_BERN = 'zev-bern';

/**
 * A memory store that already knows every point of the example deployment, and its sites: what
 * `startMarket` needs to come up as `gridflex run --market` starts it.
 */
export async function exampleMarketStore(): Promise<{ store: Store; sites: Site[] }> {
  const store = await openStore({ dataDir: 'memory://' });
  const sites = await exampleSites();
  await store.readings.describePoints(listPoints(sites));
  return { store, sites };
}

/**
 * The market over `exampleMarketStore()` as `gridflex run --market` starts it, on the clock
 * `now`, without its timer (`tickMs: 0`: the test ticks it).
 */
export async function exampleMarket(
  options: Pick<StartMarketOptions, 'hub' | 'now' | 'plans'>,
): Promise<{ store: Store; sites: Site[]; market: RunningMarket }> {
  const { store, sites } = await exampleMarketStore();
  const market = await startMarket({ store, sites, tickMs: 0, ...options });
  return { store, sites, market };
}

/** A request to the API as the operator (`app.inject` with the operator's credentials). */
export type OperatorCall = (
  method: 'GET' | 'POST',
  url: string,
  payload?: object,
) => Promise<{ statusCode: number; body: string; json(): unknown }>;

/**
 * The operator of the demo portfolio sells 10 kW of `dr-event` for the next hour over the API,
 * once the measured state of charge makes it available, and the same obligation for the hour
 * under way straight into the store, as if sold before it began (the API refuses to sell an
 * hour under way): an activation can then run at once. Returns the bid and that obligation.
 */
export async function sellDrEventNow(
  call: OperatorCall,
  store: Store,
): Promise<{ bid: { id: string; kw: number }; sold: Obligation }> {
  const hourStart = Math.floor(Date.now() / H) * H;
  const next = { from: new Date(hourStart + H).toISOString(), to: new Date(hourStart + 2 * H).toISOString() };
  await until(
    'availability from the measured state of charge',
    async () => {
      const res = await call(
        'GET',
        `/api/portfolios/demo/availability?product=dr-event&from=${next.from}&to=${next.to}`,
      );
      expect(res.statusCode).toBe(200);
      return (res.json() as { slots: { upKw: number }[] }).slots.every((s) => s.upKw >= 10) || undefined;
    },
    120_000,
  );
  const bids = await call('POST', '/api/portfolios/demo/bids', {
    productId: 'dr-event',
    ...next,
    strategy: { kind: 'fixed', priceCentsPerMwh: 5000 },
  });
  expect(bids.statusCode, bids.body).toBe(201);
  const bid = (bids.json() as { bids: { id: string; kw: number }[] }).bids[0]!;
  const accepted = await call('POST', '/api/portfolios/demo/acceptances', {
    productId: 'dr-event',
    acceptances: [{ bidId: bid.id }],
  });
  expect(accepted.statusCode, accepted.body).toBe(201);
  const current = (accepted.json() as { obligations: Obligation[] }).obligations[0]!;
  const iso = (ms: number) => new Date(ms).toISOString();
  const sold = {
    ...current,
    id: current.id.replace(iso(current.startMs), iso(current.startMs - H)),
    startMs: current.startMs - H,
    endMs: current.endMs - H,
  };
  await saveAward(store, 'demo', [sold]);
  return { bid, sold };
}

/** What a test award sells, per hour from this one: the product and its terms. */
export interface AwardTerms {
  productId: string;
  direction: Obligation['direction'];
  /** kW of the whole award (the sites' shares are given apart). */
  kw: number;
  /** Full activation + minimum duration of the product (market/products.yaml). */
  sustainMs: number;
  priceCentsPerMwh?: number;
}

/**
 * `terms` sold for this hour and the next `hours − 1`, split over `sites`, as the market stores
 * it when the operator accepts bids before an hour begins: an hour under way is no longer sold
 * (issue #13), so tests that need an obligation in force at once store it.
 */
export function awardNow(
  terms: AwardTerms,
  sites: { siteId: string; kw: number }[],
  hours = 2,
  nowMs = Date.now(),
): Obligation[] {
  const hourStart = Math.floor(nowMs / H) * H;
  return Array.from({ length: hours }, (_, k) => ({
    id: `${terms.productId}:${new Date(hourStart + k * H).toISOString()}:0`,
    productId: terms.productId,
    direction: terms.direction,
    startMs: hourStart + k * H,
    endMs: hourStart + (k + 1) * H,
    kw: terms.kw,
    priceCentsPerMwh: terms.priceCentsPerMwh ?? 5000,
    sites,
    sustainMs: terms.sustainMs,
  }));
}

/** The DR event (10 kW in all) sold for this hour and the next `hours − 1` (`awardNow`). */
export function drAwardNow(
  sites: { siteId: string; kw: number }[],
  hours = 2,
  nowMs = Date.now(),
): Obligation[] {
  // dr-event: 15 min full activation + 1 h minimum duration (market/products.yaml).
  return awardNow(
    { productId: 'dr-event', direction: 'up', kw: 10, sustainMs: 75 * 60_000 },
    sites,
    hours,
    nowMs,
  );
}

/** Store `sold` as bids accepted into obligations of `portfolioId`, an hour before the first began. */
export async function saveAward(store: Store, portfolioId: string, sold: Obligation[]): Promise<void> {
  const at = Math.min(...sold.map((o) => o.startMs)) - H;
  const repo = new MarketRepository(store.db);
  expect(await repo.saveBids(portfolioId, sold, at, false)).toMatchObject({ ok: true });
  expect(await repo.saveObligations(portfolioId, sold, at)).toBe(true);
}

/** `saveAward` into the embedded store of a data folder no process holds (before `gridflex run`). */
export async function saveAwardIn(dataDir: string, portfolioId: string, sold: Obligation[]): Promise<void> {
  const store = await openStore({ dataDir });
  try {
    await migrateAll(store);
    await saveAward(store, portfolioId, sold);
  } finally {
    await store.close();
  }
}

/**
 * The demo's zev-bern composition on loopback, in `dir`: the gateway file for its simulator on
 * a free port pair, the example sites with the simulated devices and controls, the runtime's
 * options (`market: true`) and how to start the simulator (the scenario as the demo ships it,
 * battery at 90 %).
 */
export async function zevBernOnLoopback(dir: string) {
  const portBase = await freePortPair();
  const { cfg, buildingOf } = await simulatedGateway(ZEV_BERN, '127.0.0.1', portBase);
  const sites = withSimulatedDevices(await exampleSites(), cfg, buildingOf).map((s) =>
    s.id === ZEV_BERN ? withSimulatedControls(s, cfg) : s,
  );
  return {
    cfg,
    sites,
    runtime: (logLevel: RuntimeOptions['logLevel']): RuntimeOptions => ({
      dataDir: dir,
      sites,
      logLevel,
      gateway: { link: { maxBackoffMs: 2000 }, opcua: { pkiDir: join(dir, 'gateway-pki') } },
      market: true,
    }),
    simulator: (): Promise<RunningSimulator> =>
      startZevBernSimulator({ portBase, pkiDir: join(dir, 'sim-pki') }),
  };
}

/**
 * `gridflex demo`'s runtime without a simulator: the example sites with the market on, in a
 * fresh data folder named after `prefix`, the demo users by role. `stop()` stops it and
 * removes the folder.
 */
export async function demoMarketRuntime(prefix: string): Promise<{
  rt: Runtime;
  sites: Site[];
  users: Record<string, DemoUser>;
  stop(): Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const sites = await exampleSites();
  const rt = await startRuntime({ dataDir, sites, logLevel: 'silent', market: true });
  const users = Object.fromEntries((await ensureDemoUsers(rt.store, sites)).map((u) => [u.role, u]));
  return {
    rt,
    sites,
    users,
    async stop() {
      await rt.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An activation as `GET /api/portfolios/:portfolio/events/:event` answers it (what tests read). */
export interface ActivationView {
  activation: { state: string };
  history: { state: string; note: string | null }[];
}

/**
 * Wait until an activation open across a restart has resumed (its history says "resumed after a
 * restart" and it is active again); `view()` reads it, undefined while the server is not up.
 * A failed activation ends the wait with its view in the error.
 */
export async function untilResumed(
  view: () => Promise<ActivationView | undefined>,
  limitMs: number,
): Promise<ActivationView> {
  let last: ActivationView | undefined;
  return until(
    () => `the activation to resume after the restart: ${JSON.stringify(last)}`,
    async () => {
      const v = await view();
      last = v;
      if (v?.activation.state === 'failed') throw new Error(JSON.stringify(v));
      return v?.history.some((h) => h.note === 'resumed after a restart') && v.activation.state === 'active'
        ? v
        : undefined;
    },
    limitMs,
  );
}
