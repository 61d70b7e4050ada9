import { parseOrThrow, SitesConfigSchema } from '../model/index.js';
import type { ActivationPlan } from './activation.js';
import type { HeadroomPlan } from './availability.js';
import type { ActivationExecutor, ExecutionState, ExecutionStatus } from './executor.js';
import type { Portfolio } from './portfolio.js';
import { loadProducts } from './product.js';
import type { MarketRepository } from './repository.js';
import {
  type HeadroomSource,
  MarketService,
  type MarketServiceOptions,
  type MeterSource,
} from './service.js';

/**
 * Test fixtures shared by the service, API, CLI and browser tests: two sites whose fans can
 * shed 800 + 600 kW, the portfolio `alpine` over both (the operator test user holds
 * `portfolio:alpine`), `nordic` over basel only, and an in-memory executor (the real one
 * drives the gateway and is tested on the simulator by market/runtime).
 */
export const SLOT = 900_000;

export const fixtureSites = parseOrThrow(
  SitesConfigSchema,
  {
    sites: ['bern', 'basel'].map((id) => ({
      id,
      name: id === 'bern' ? 'School Bern' : 'School Basel',
      location: { lat: 47, lon: 7.5 },
      timezone: 'Europe/Zurich',
      grid: { importLimitKw: 2000, exportLimitKw: 500 },
      buildings: [],
    })),
  },
  'fixture sites',
).sites;

export const fixturePortfolios: Portfolio[] = [
  { id: 'alpine', name: 'Alpine schools', sites: ['bern', 'basel'], products: ['mfrr', 'dr-event'] },
  { id: 'nordic', name: 'Nordic', sites: ['basel'], products: ['mfrr'] },
];

const SHED: Record<string, { plannedKw: number; maxShedKw: number }> = {
  bern: { plannedKw: 900, maxShedKw: 800 },
  basel: { plannedKw: 700, maxShedKw: 600 },
};

/** Flat fan headroom from the slot holding `fromMs` to two hours past `toMs`. */
export const fixtureHeadroom: HeadroomSource = async (portfolio, range) => {
  const startMs = Math.floor(range.fromMs / SLOT) * SLOT;
  const slots = Math.ceil((range.toMs + 2 * 3_600_000 - startMs) / SLOT);
  const plan: HeadroomPlan = {
    startMs,
    slotMs: SLOT,
    slots,
    sites: portfolio.sites.map((siteId) => ({
      siteId,
      assets: [
        {
          kind: 'sheddable',
          id: 'fans',
          plannedKw: Array(slots).fill(SHED[siteId]!.plannedKw),
          maxShedKw: SHED[siteId]!.maxShedKw,
        },
      ],
    })),
  };
  return plan;
};

/** An executor that "dispatches" instantly in memory; `advance` moves an activation on. */
export class MemoryExecutor implements ActivationExecutor {
  readonly plans = new Map<string, ActivationPlan>();
  private readonly statuses = new Map<string, ExecutionStatus>();
  failNext: string | null = null;

  constructor(private readonly now: () => number) {}

  async start(plan: ActivationPlan): Promise<ExecutionStatus> {
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = null;
      throw new Error(message);
    }
    this.plans.set(plan.id, plan);
    return this.set(plan.id, 'active');
  }

  async stop(activationId: string): Promise<ExecutionStatus> {
    return this.set(activationId, 'restoring');
  }

  status(activationId: string): ExecutionStatus | undefined {
    return this.statuses.get(activationId);
  }

  /** Like GatewayExecutor.recover: what a restart found, put back (recorded for the test). */
  readonly recovered: { id: string; reason: string }[] = [];
  async recover(plan: ActivationPlan, _held: unknown, reason: string): Promise<ExecutionStatus> {
    this.recovered.push({ id: plan.id, reason });
    this.plans.set(plan.id, plan);
    const status = this.set(plan.id, 'done');
    for (const s of status.sites) s.messages.push('every device put back to base');
    return status;
  }

  advance(activationId: string, state: ExecutionState): ExecutionStatus {
    return this.set(activationId, state);
  }

  private set(id: string, state: ExecutionState): ExecutionStatus {
    const plan = this.plans.get(id)!;
    const on = state === 'active' || state === 'dispatching';
    const status: ExecutionStatus = {
      activationId: id,
      state,
      updatedMs: this.now(),
      sites: plan.sites.map((s) => ({
        siteId: s.siteId,
        requestedKw: s.kw,
        dispatchedKw: on ? s.kw : 0,
        shortfallKw: 0,
        setpointsWritten: on ? 1 : 0,
        setpointsRefused: 0,
        messages: [],
      })),
    };
    this.statuses.set(id, status);
    return status;
  }
}

/**
 * Demand at each site: its planned load, less the share of every activation the executor
 * started while that activation runs (a perfect delivery, so reports have known figures).
 */
export function fixtureMeter(executor: MemoryExecutor): MeterSource {
  return async (siteId, range, intervalMs) => {
    const out: number[] = [];
    for (let t = range.fromMs; t < range.toMs; t += intervalMs) {
      let kw = SHED[siteId]!.plannedKw;
      for (const plan of executor.plans.values())
        if (plan.startMs <= t && t < plan.endMs) kw -= plan.sites.find((s) => s.siteId === siteId)?.kw ?? 0;
      out.push(kw);
    }
    return out;
  };
}

/**
 * The market service over these fixtures: the real catalogue, the portfolios above, the
 * executor's perfect meter; the store (`repo`), the executor and the clock are the test's, and
 * any other option replaces the fixture's (`meter: undefined`: a service without a meter).
 */
export async function fixtureService(
  o: { repo: MarketRepository; executor: MemoryExecutor; now: () => number } & Partial<MarketServiceOptions>,
): Promise<MarketService> {
  return new MarketService({
    catalog: await loadProducts(),
    portfolios: fixturePortfolios,
    headroom: fixtureHeadroom,
    meter: fixtureMeter(o.executor),
    ...o,
  });
}
