import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GridflexError, IdSchema, MODEL_ERRORS } from '../model/index.js';
import { type ActivationRequest, planActivation } from './activation.js';
import { type Availability, availability, type HeadroomPlan, HeadroomPlanSchema } from './availability.js';
import { dayMatchingBaseline, meterBeforeBaseline, TEN_OF_TEN } from './baseline.js';
import {
  type Acceptance,
  acceptBids,
  type Bid,
  buildBids,
  type Obligation,
  type PriceStrategy,
  type SkippedPeriod,
} from './bids.js';
import { type SettlementRow, settlementRows } from './delivery.js';
import { MARKET_ERRORS } from './errors.js';
import type { ActivationExecutor, ExecutionState, ExecutionStatus } from './executor.js';
import { findPortfolio, type Portfolio } from './portfolio.js';
import { findProduct, type Product, type ProductCatalog } from './product.js';
import {
  type ActivationKind,
  type ActivationRecord,
  type ActivationState,
  FINAL_STATES,
  type MarketRepository,
  type StateChange,
  type StoredBid,
  type StoredReport,
} from './repository.js';
import {
  type FrequencySettlementRow,
  frequencySettlementRow,
  type ProofSeries,
} from './runtime/proof-log.js';
import { toKw, toW } from './shares.js';

/**
 * Where availability comes from: the portfolio's planned headroom over a range, as the
 * optimiser plans it **without** reserves (the service subtracts the obligations itself).
 */
export type HeadroomSource = (portfolio: Portfolio, range: TimeRange) => Promise<HeadroomPlan>;

/**
 * Metered demand of a site (consumption positive, kW) as the mean of each interval of
 * [fromMs, toMs); null where no reading exists. The demo reads the grid meter from the store.
 */
export type MeterSource = (
  siteId: string,
  range: TimeRange,
  intervalMs: number,
) => Promise<(number | null)[]>;

/**
 * A site's stored frequency-response proof over a range (market/runtime/proof-log.ts): the
 * response requested and the reserve units' delivery, kW, + up; empty when none is stored.
 */
export type ProofSource = (
  siteId: string,
  range: TimeRange,
) => Promise<{ requested: ProofSeries; delivered: ProofSeries }>;

/** A site whose report used another baseline than the product's, and why. */
export interface BaselineFallback {
  siteId: string;
  method: 'ten_of_ten_unadjusted' | 'meter_before';
  reason: string;
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** What the service publishes whenever an activation changes (the hub topic `market`). */
export interface MarketUpdate {
  portfolioId: string;
  activationId: string;
  state: ActivationState;
  status: ExecutionStatus | null;
}

declare module '../stream/hub.js' {
  interface HubTopics {
    market: MarketUpdate;
  }
}

/**
 * An activation or DR event as the operator posts it (OpenADR 3: an event of a program).
 * `start` absent = now; the body, not the arrival time, is what a retry must repeat.
 */
export const ActivationBodySchema = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'use letters, digits, ".", "_", ":" and "-"'),
  productId: IdSchema,
  direction: z.enum(['up', 'down']).optional(),
  start: z.iso.datetime({ offset: true }).optional(),
  durationMs: z
    .number()
    .int()
    .positive()
    .max(24 * 3_600_000),
  kw: z.number().positive().max(1_000_000),
});
export type ActivationBody = z.infer<typeof ActivationBodySchema>;

export interface ActivationView {
  activation: ActivationRecord;
  history: StateChange[];
  /** The executor's latest status (live while it runs, the last snapshot afterwards). */
  execution: ExecutionStatus | null;
  /** Why the automatic delivery report could not be made yet (retried), else null. */
  reportProblem: string | null;
}

export interface MarketServiceOptions {
  repo: MarketRepository;
  catalog: ProductCatalog;
  portfolios: readonly Portfolio[];
  executor: ActivationExecutor;
  headroom: HeadroomSource;
  meter?: MeterSource;
  /** The stored proof of frequency response, for the hourly FCR/FFR settlement. */
  proof?: ProofSource;
  publish?: (update: MarketUpdate) => void;
  /** The clock, injected so that tests and replays decide what "now" is. */
  now: () => number;
  /**
   * How long after an activation's end (and its last interval) the automatic delivery report
   * is made, so that the last readings are stored (default 1 min); a failed attempt is retried
   * every `reportRetryMs` (default 15 min) for a day.
   */
  reportDelayMs?: number;
  reportRetryMs?: number;
  /**
   * How long after this service starts it waits before resuming or ending activations a
   * previous process left open (default 30 s): the gateways need a first reading of every
   * device before the executor can size them.
   */
  resumeAfterMs?: number;
}

const RANK: Record<ActivationState, number> = {
  received: 0,
  dispatching: 1,
  active: 2,
  restoring: 3,
  completed: 4,
  failed: 4,
  cancelled: 4,
};

const CANCEL_NOTE = 'cancel requested';

/** Canonical JSON (sorted keys) so that `{a,b}` and `{b,a}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

export const bodyHash = (body: ActivationBody) => createHash('sha256').update(canonical(body)).digest('hex');

/** Reports are per minute at the finest: sub-minute logging of FCR/FFR is checked by verify.ts. */
export const reportIntervalMs = (product: Product) => Math.max(product.measurementResolution, 60_000);

/**
 * The market's lifecycle around the pure core: availability net of what is already sold,
 * bids and acceptances, activations with idempotent ids and a state machine
 * (received → dispatching → active → restoring → completed | failed | cancelled), and delivery
 * reports. Devices are the executor's business; this service only decides and records.
 */
export class MarketService {
  private activating: Promise<unknown> = Promise.resolve();
  /** Automatic reports that failed: when to try again and why (in memory: a restart retries at once). */
  private readonly reportRetry = new Map<string, { atMs: number; problem: string }>();

  private readonly startedMs: number;

  constructor(private readonly o: MarketServiceOptions) {
    this.startedMs = o.now();
  }

  /** The service's notion of now (the HTTP edge uses it for default ranges). */
  clock(): number {
    return this.o.now();
  }

  get portfolios(): readonly Portfolio[] {
    return this.o.portfolios;
  }

  /** The product, if the portfolio offers it (else the same 404 as an unknown product). */
  product(portfolio: Portfolio, productId: string): Product {
    const product = findProduct(this.o.catalog, productId);
    if (!portfolio.products.includes(product.id))
      throw new GridflexError(
        MARKET_ERRORS.UNKNOWN_PRODUCT,
        `portfolio ${portfolio.id} does not offer ${productId}`,
        {
          kind: 'not_found',
        },
      );
    return product;
  }

  /**
   * What the portfolio can still offer for `productId` per slot: the plan's headroom minus
   * every obligation already accepted (for any product) at each site in its direction, so
   * the same kW is never sold twice. Asset figures are before obligations.
   */
  async availability(portfolioId: string, productId: string, range: TimeRange): Promise<Availability> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    const product = this.product(portfolio, productId);
    const raw = await this.o.headroom(portfolio, range);
    const parsed = HeadroomPlanSchema.safeParse(raw);
    if (!parsed.success)
      throw new GridflexError(
        MARKET_ERRORS.HEADROOM,
        `the headroom plan is invalid: ${parsed.error.issues[0]?.message}`,
        {
          kind: 'internal',
          details: {
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        },
      );
    const members = new Set(portfolio.sites);
    const plan = { ...parsed.data, sites: parsed.data.sites.filter((s) => members.has(s.siteId)) };
    const all = availability(plan, product);
    // The plan may reach past the range (it must, for the sustain window); answer the range.
    const offered = {
      ...all,
      slots: all.slots.filter((s) => s.startMs < range.toMs && range.fromMs < s.endMs),
    };
    const held = await this.o.repo.obligations(portfolio.id, range);
    return subtractObligations(offered, held);
  }

  /**
   * Build the bids for each period of the range from the remaining availability, and store
   * them. A period that has started is skipped (`started`): it can no longer be sold. Bids
   * stored before with the same ids are a conflict (409 `GFX_MARKET_BID_EXISTS`, nothing
   * stored) unless `replace` is set; then each replaced bid's version goes up by one. An
   * accepted bid is never replaced.
   */
  async buildBids(
    portfolioId: string,
    productId: string,
    range: TimeRange,
    strategy: PriceStrategy,
    replace = false,
  ): Promise<{ bids: Bid[]; skipped: SkippedPeriod[]; versions: Record<string, number> }> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    const product = this.product(portfolio, productId);
    const avail = await this.availability(portfolioId, productId, range);
    const built = buildBids(avail, product, strategy);
    const now = this.o.now();
    const bids = built.bids.filter((b) => b.startMs > now);
    const started = new Map<number, SkippedPeriod>();
    for (const b of built.bids)
      if (b.startMs <= now) {
        const s = started.get(b.startMs) ?? { startMs: b.startMs, endMs: b.endMs, reason: 'started', kw: 0 };
        s.kw = toKw(toW(s.kw) + toW(b.kw));
        started.set(b.startMs, s);
      }
    const skipped = [...built.skipped, ...started.values()].sort((a, b) => a.startMs - b.startMs);
    const saved = await this.o.repo.saveBids(portfolio.id, bids, now, replace);
    if (!saved.ok) {
      const problems = saved.conflicts.map((c) =>
        c.accepted
          ? `${c.id}: accepted (version ${c.version}); an accepted bid is never replaced`
          : `${c.id}: stored as version ${c.version}; post again with replace: true to replace it`,
      );
      throw new GridflexError(MARKET_ERRORS.BID_EXISTS, `bids refused: ${problems[0]}`, {
        kind: 'conflict',
        details: { problems, conflicts: saved.conflicts },
      });
    }
    return { bids, skipped, versions: saved.versions };
  }

  async bids(
    portfolioId: string,
    range: TimeRange,
  ): Promise<{ bids: StoredBid[]; obligations: Obligation[] }> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    return {
      bids: await this.o.repo.bids(portfolio.id, range),
      obligations: await this.o.repo.obligations(portfolio.id, range),
    };
  }

  /**
   * Accept bids of one product (the operator's clearing result). All or nothing: an unknown,
   * oversized or off-step acceptance refuses the batch (400); a bid accepted before, or one
   * whose period has started → 409.
   */
  async accept(portfolioId: string, productId: string, acceptances: Acceptance[]): Promise<Obligation[]> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    const product = this.product(portfolio, productId);
    const stored = await this.o.repo.bidsById(
      portfolio.id,
      acceptances.map((a) => a.bidId),
    );
    const taken = stored.filter((s) => s.accepted).map((s) => s.bid.id);
    if (taken.length > 0) throw alreadyAccepted(taken);
    const now = this.o.now();
    const started = stored.filter((s) => s.bid.startMs <= now);
    if (started.length > 0) {
      const problems = started.map(
        (s) => `${s.bid.id}: its period started at ${new Date(s.bid.startMs).toISOString()}`,
      );
      throw new GridflexError(MARKET_ERRORS.PERIOD_STARTED, `acceptance refused: ${problems[0]}`, {
        kind: 'conflict',
        details: { problems },
      });
    }
    const obligations = acceptBids(
      stored.map((s) => s.bid),
      acceptances,
      product,
    );
    if (!(await this.o.repo.saveObligations(portfolio.id, obligations, this.o.now())))
      throw alreadyAccepted(obligations.map((o) => o.id));
    return obligations;
  }

  /**
   * Post an activation or DR event. A repeated id with the same body returns the stored
   * activation (`created: false`, nothing dispatched again); with another body → 409. An
   * invalid or out-of-bounds request is refused before anything is stored. An activation
   * starting now is handed to the executor before this returns; a later one waits for `tick`.
   */
  async activate(
    portfolioId: string,
    body: ActivationBody,
    requestedBy: string | null,
  ): Promise<{ created: boolean; view: ActivationView }> {
    // One at a time: the check against what the running activations already take and the
    // insert must not interleave with another post's (this process is the only writer).
    const turn = this.activating.then(() => this.activateNow(portfolioId, body, requestedBy));
    this.activating = turn.catch(() => undefined);
    return turn;
  }

  private async activateNow(
    portfolioId: string,
    body: ActivationBody,
    requestedBy: string | null,
  ): Promise<{ created: boolean; view: ActivationView }> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    const hash = bodyHash(body);
    const existing = await this.o.repo.activation(body.id);
    if (existing) return { created: false, view: await this.sameOrConflict(existing, portfolio.id, hash) };

    const product = this.product(portfolio, body.productId);
    const now = this.o.now();
    const request: ActivationRequest = {
      id: body.id,
      productId: body.productId,
      ...(body.direction ? { direction: body.direction } : {}),
      startMs: body.start ? Date.parse(body.start) : now,
      durationMs: body.durationMs,
      kw: body.kw,
    };
    if (request.startMs + request.durationMs <= now)
      throw new GridflexError(
        MARKET_ERRORS.ACTIVATION,
        `activation ${body.id} refused: start: it would already be over`,
        {
          kind: 'input',
          details: { problems: ['start: the activation would already be over'] },
        },
      );
    const held = await this.o.repo.obligations(portfolio.id, {
      fromMs: request.startMs,
      toMs: request.startMs + 1,
    });
    const running = (await this.o.repo.openActivations())
      .filter((a) => a.portfolioId === portfolio.id && a.state !== 'restoring')
      .map((a) => a.plan);
    const plan = planActivation(request, product, held, running);
    const kind: ActivationKind =
      product.activation.kind === 'operator_signal' && product.activation.signal === 'event'
        ? 'dr_event'
        : 'activation';
    const inserted = await this.o.repo.insertActivation({
      id: body.id,
      portfolioId: portfolio.id,
      productId: product.id,
      kind,
      bodyHash: hash,
      request,
      plan,
      requestedBy,
      receivedMs: now,
    });
    // Lost a race with the same id: the row that won decides.
    if (!inserted.created)
      return { created: false, view: await this.sameOrConflict(inserted.record, portfolio.id, hash) };
    this.publish(inserted.record, 'received', null);
    if (plan.startMs <= now) await this.dispatch(inserted.record);
    return { created: true, view: await this.view(body.id) };
  }

  private async sameOrConflict(
    existing: ActivationRecord,
    portfolioId: string,
    hash: string,
  ): Promise<ActivationView> {
    if (existing.portfolioId !== portfolioId || existing.bodyHash !== hash)
      throw new GridflexError(
        MARKET_ERRORS.DUPLICATE_ID,
        `id: activation ${existing.id} already exists with a different request; use a new id`,
        { kind: 'conflict', details: { id: existing.id } },
      );
    return this.view(existing.id);
  }

  /** One activation as the operator sees it; 404 outside the portfolio. */
  async status(portfolioId: string, activationId: string): Promise<ActivationView> {
    const record = await this.o.repo.activation(activationId);
    if (!record || record.portfolioId !== portfolioId) throw notFound(activationId);
    return this.view(activationId);
  }

  async activations(portfolioId: string, range: TimeRange): Promise<ActivationRecord[]> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    return this.o.repo.activations(portfolio.id, range);
  }

  /**
   * Cancel: a waiting activation ends at once; a running one is stopped (the executor
   * restores) and becomes `cancelled` when the executor is done. Cancelling a cancelled
   * activation again is a no-op; one that already ended → 409.
   */
  async cancel(portfolioId: string, activationId: string, by: string | null): Promise<ActivationView> {
    const record = await this.o.repo.activation(activationId);
    if (!record || record.portfolioId !== portfolioId) throw notFound(activationId);
    if (
      record.state === 'cancelled' ||
      (record.state === 'restoring' && (await this.cancelRequested(record)))
    )
      return this.view(activationId);
    if (FINAL_STATES.includes(record.state))
      throw new GridflexError(
        MARKET_ERRORS.FINAL,
        `activation ${activationId} has already ended (${record.state})`,
        {
          kind: 'conflict',
          details: { state: record.state },
        },
      );
    const note = `${CANCEL_NOTE}${by ? ` by ${by}` : ''}`;
    if (record.state === 'received') {
      await this.move(record, 'cancelled', note, null);
      return this.view(activationId);
    }
    const status = await this.o.executor.stop(activationId, note);
    await this.o.repo.saveSnapshot(status);
    await this.move(record, 'restoring', note, status);
    if (status.state === 'done' || status.state === 'failed') await this.follow(record.id, status);
    return this.view(activationId);
  }

  /**
   * Advance every open activation: dispatch those whose start has come, stop those whose end
   * has passed, record what the executor reports. Call it every second or so.
   */
  async tick(): Promise<void> {
    const now = this.o.now();
    for (const record of await this.o.repo.openActivations()) {
      if (record.state === 'received') {
        if (record.plan.startMs <= now) await this.dispatch(record);
        continue;
      }
      const status = this.o.executor.status(record.id);
      if (!status) {
        await this.afterRestart(record, now);
        continue;
      }
      const last = await this.o.repo.latestSnapshot(record.id);
      if (!last || status.updatedMs > last.updatedMs || status.state !== last.state) {
        await this.o.repo.saveSnapshot(status);
        await this.follow(record.id, status);
      }
      const current = await this.o.repo.activation(record.id);
      if (
        current &&
        (current.state === 'active' || current.state === 'dispatching') &&
        record.plan.endMs <= now
      ) {
        const stopped = await this.o.executor.stop(record.id, 'end of the activation');
        await this.o.repo.saveSnapshot(stopped);
        await this.move(current, 'restoring', 'end of the activation', stopped);
        await this.follow(record.id, stopped);
      }
    }
    await this.autoReports(now);
  }

  /**
   * Make the delivery report of every activation that ran and has ended, once its last
   * interval is metered: the operator gets it without asking. A failure is kept (the view's
   * `reportProblem`) and retried; the report can always be made on request as well.
   */
  private async autoReports(now: number): Promise<void> {
    const delay = this.o.reportDelayMs ?? 60_000;
    for (const record of await this.o.repo.unreported(now - 86_400_000)) {
      const product = this.o.catalog.products.find((p) => p.id === record.productId);
      if (!product) continue;
      const dueMs = Math.max(record.plan.endMs, record.updatedMs) + reportIntervalMs(product) + delay;
      const retry = this.reportRetry.get(record.id);
      if (now < dueMs || (retry && now < retry.atMs)) continue;
      try {
        await this.report(record.portfolioId, record.id);
        this.reportRetry.delete(record.id);
      } catch (err) {
        this.reportRetry.set(record.id, {
          atMs: now + (this.o.reportRetryMs ?? 15 * 60_000),
          problem: (err as Error).message,
        });
      }
    }
  }

  /**
   * An open activation this process's executor does not know: Gridflex restarted (a crash or
   * a clean stop) while it ran. One still due resumes, dispatched again on the devices' stored
   * bases; one that ended meanwhile or was restoring is ended formally: its devices are put
   * back to their stored bases and the reason is recorded.
   */
  private async afterRestart(record: ActivationRecord, now: number): Promise<void> {
    if (now - this.startedMs < (this.o.resumeAfterMs ?? 30_000)) return;
    const last = await this.o.repo.latestSnapshot(record.id);
    const held = last?.held ?? [];
    if ((record.state === 'dispatching' || record.state === 'active') && record.plan.endMs > now) {
      await this.move(record, 'dispatching', 'resumed after a restart', null);
      let status: ExecutionStatus;
      try {
        status = await this.o.executor.start(record.plan, held);
      } catch (err) {
        await this.move(record, 'failed', `resume after a restart failed: ${(err as Error).message}`, null);
        return;
      }
      await this.o.repo.saveSnapshot(status);
      await this.follow(record.id, status);
      return;
    }
    const why =
      record.state === 'restoring' ? 'restarted while restoring' : 'restarted after the activation had ended';
    if (!this.o.executor.recover) {
      await this.move(record, 'failed', `${why}: the executor cannot put the devices back`, null);
      return;
    }
    const status = await this.o.executor.recover(record.plan, held, `gridflex ${why}`);
    await this.o.repo.saveSnapshot(status);
    const back = status.sites.flatMap((s) => s.messages).join('; ');
    await this.move(record, 'failed', `gridflex ${why}: ended; ${back}`, status);
  }

  /**
   * A clean stop of the process: every running activation's devices go back to their base now
   * (no energy restore). The activations stay open in the store, so the next start resumes
   * those still due (`tick`).
   */
  async shutdown(reason = 'gridflex stopped'): Promise<void> {
    const release = this.o.executor.release?.bind(this.o.executor);
    if (!release) return;
    for (const record of await this.o.repo.openActivations()) {
      const live = this.o.executor.status(record.id);
      if (!live || live.state === 'done' || live.state === 'failed') continue;
      const held = live.held ?? [];
      const status = await release(record.id, reason);
      // The snapshot keeps what was held (and the stored bases) for the resume.
      await this.o.repo.saveSnapshot({ ...status, held });
      this.publish(record, record.state, status);
    }
  }

  private async dispatch(record: ActivationRecord): Promise<void> {
    await this.move(record, 'dispatching', null, null);
    let status: ExecutionStatus;
    try {
      status = await this.o.executor.start(record.plan);
    } catch (err) {
      await this.move(record, 'failed', `dispatch failed: ${(err as Error).message}`, null);
      return;
    }
    await this.o.repo.saveSnapshot(status);
    await this.follow(record.id, status);
  }

  /** Take the executor's state over, forwards only (a re-dispatch does not un-activate). */
  private async follow(id: string, status: ExecutionStatus): Promise<void> {
    const record = await this.o.repo.activation(id);
    if (!record) return;
    const target = await this.stateOf(record, status.state);
    if (RANK[target] > RANK[record.state]) await this.move(record, target, null, status);
    else this.publish(record, record.state, status);
  }

  private async stateOf(record: ActivationRecord, s: ExecutionState): Promise<ActivationState> {
    if (s === 'done') return (await this.cancelRequested(record)) ? 'cancelled' : 'completed';
    return s;
  }

  private async cancelRequested(record: ActivationRecord): Promise<boolean> {
    return (await this.o.repo.history(record.id)).some((h) => h.note?.startsWith(CANCEL_NOTE));
  }

  private async move(
    record: ActivationRecord,
    state: ActivationState,
    note: string | null,
    status: ExecutionStatus | null,
  ): Promise<void> {
    if (await this.o.repo.setState(record.id, state, this.o.now(), note)) this.publish(record, state, status);
  }

  private publish(record: ActivationRecord, state: ActivationState, status: ExecutionStatus | null): void {
    this.o.publish?.({ portfolioId: record.portfolioId, activationId: record.id, state, status });
  }

  private async view(id: string): Promise<ActivationView> {
    const activation = (await this.o.repo.activation(id))!;
    const live = FINAL_STATES.includes(activation.state) ? undefined : this.o.executor.status(id);
    return {
      activation,
      history: await this.o.repo.history(id),
      execution: live ?? (await this.o.repo.latestSnapshot(id)),
      reportProblem: this.reportRetry.get(id)?.problem ?? null,
    };
  }

  /**
   * Measure an activation against its baseline per site and store the settlement rows.
   * `meter_before` (markets.md B6.4): the mean demand over the interval before the start;
   * `x_of_y`: CAISO 10-of-10 over the ten previous days at the same time of day, adjusted
   * over [t0 − 4 h, t0 − 1 h). When the day-matching history is incomplete the report falls
   * back, and says so per site in `baseline.fallbacks` (which baseline, and why): without the
   * event day's morning to 10-of-10 unadjusted, without ten complete days to the meter before
   * the activation. Meter data missing during the activation, or for the last fallback, is an
   * error (422), never a guess.
   */
  async report(portfolioId: string, activationId: string): Promise<StoredReport> {
    const record = await this.o.repo.activation(activationId);
    if (!record || record.portfolioId !== portfolioId) throw notFound(activationId);
    const meter = this.o.meter;
    if (!meter)
      throw new GridflexError(
        MARKET_ERRORS.METER_DATA,
        'no meter data source is configured for delivery reports',
        {
          kind: 'input',
        },
      );
    const product = findProduct(this.o.catalog, record.productId);
    const plan = record.plan;
    const intervalMs = reportIntervalMs(product);
    const n = Math.ceil((plan.endMs - plan.startMs) / intervalMs);
    const span = { fromMs: plan.startMs, toMs: plan.startMs + n * intervalMs };
    const sites = [];
    const fallbacks: BaselineFallback[] = [];
    for (const site of plan.sites) {
      const metered = complete(
        await meter(site.siteId, span, intervalMs),
        site.siteId,
        'during the activation',
      );
      let baselineKw: number[];
      if (product.baseline === 'meter_before')
        baselineKw = await this.meterBefore(meter, site.siteId, plan.startMs, intervalMs, n);
      else {
        const matched = await this.dayMatching(meter, site.siteId, span, intervalMs);
        if ('kw' in matched) {
          baselineKw = matched.kw;
          if (matched.fallback) fallbacks.push({ siteId: site.siteId, ...matched.fallback });
        } else {
          baselineKw = await this.meterBefore(meter, site.siteId, plan.startMs, intervalMs, n);
          fallbacks.push({ siteId: site.siteId, method: 'meter_before', reason: matched.missing });
        }
      }
      sites.push({ siteId: site.siteId, requestedKw: site.kw, baselineKw, meteredKw: metered });
    }
    const rows = settlementRows([
      {
        activationId: record.id,
        productId: record.productId,
        direction: plan.direction,
        startMs: plan.startMs,
        intervalMs,
        sites,
      },
    ]);
    const report: StoredReport = {
      activationId: record.id,
      portfolioId: record.portfolioId,
      productId: record.productId,
      startMs: plan.startMs,
      endMs: plan.endMs,
      rows,
      baseline: {
        method: product.baseline === 'meter_before' ? 'meter_before' : 'ten_of_ten',
        intervalMs,
        fallbacks,
        sites: sites.map((s) => ({ siteId: s.siteId, baselineKw: s.baselineKw, meteredKw: s.meteredKw })),
      },
      createdMs: this.o.now(),
    };
    await this.o.repo.saveReport(report);
    return report;
  }

  /** The mean demand over the interval before the start, for each of `n` intervals. */
  private async meterBefore(
    meter: MeterSource,
    siteId: string,
    startMs: number,
    intervalMs: number,
    n: number,
  ): Promise<number[]> {
    const before = complete(
      await meter(siteId, { fromMs: startMs - intervalMs, toMs: startMs }, intervalMs),
      siteId,
      'before the activation',
    );
    const kw = meterBeforeBaseline(
      before.map((v, i) => ({ tMs: startMs - intervalMs + i * intervalMs, kw: v })),
      startMs,
      intervalMs,
    );
    return Array(n).fill(kw);
  }

  /**
   * 10-of-10 on "days" cut as [t0 − 4 h, end) on each of the ten days before: every previous
   * day counts as eligible (weekday/holiday filtering needs the site's calendar; not done).
   * Without the event day's morning: unadjusted, with the reason; without ten complete days:
   * `missing` says which (the caller falls back to the meter before).
   */
  private async dayMatching(
    meter: MeterSource,
    siteId: string,
    span: TimeRange,
    intervalMs: number,
  ): Promise<
    { kw: number[]; fallback?: { method: 'ten_of_ten_unadjusted'; reason: string } } | { missing: string }
  > {
    const lead = Math.ceil((4 * 3_600_000) / intervalMs) * intervalMs;
    const window = { fromMs: span.fromMs - lead, toMs: span.toMs };
    const day = (k: number) => ({
      fromMs: window.fromMs - k * 86_400_000,
      toMs: window.toMs - k * 86_400_000,
    });
    const startIndex = lead / intervalMs;
    const profile = async (k: number) => {
      const kw = await meter(siteId, day(k), intervalMs);
      // On the event day only the morning counts (the event itself is what is measured).
      const needed = k === 0 ? kw.slice(0, startIndex) : kw;
      const gap = needed.findIndex((v) => v === null || !Number.isFinite(v));
      return {
        date: new Date(day(k).fromMs).toISOString().slice(0, 10),
        kw: kw.map((v) => v ?? 0),
        gap: needed.length === 0 ? 0 : gap,
      };
    };
    const history = [];
    for (let k = 1; k <= TEN_OF_TEN.days; k++) {
      const p = await profile(k);
      if (p.gap >= 0)
        return {
          missing: `site ${siteId}: meter data missing on the day ${k} before (interval ${p.gap}): 10-of-10 needs ten complete days; baseline: the meter before the activation`,
        };
      history.push(p);
    }
    const eventDay = await profile(0);
    const win = { startIndex, endIndex: eventDay.kw.length, intervalMs };
    if (eventDay.gap >= 0)
      return {
        kw: dayMatchingBaseline(history, eventDay, win, { ...TEN_OF_TEN, adjustment: { kind: 'none' } }).kw,
        fallback: {
          method: 'ten_of_ten_unadjusted',
          reason: `site ${siteId}: meter data missing on the event day before the start (interval ${eventDay.gap}): the same-day adjustment is left out`,
        },
      };
    return { kw: dayMatchingBaseline(history, eventDay, win, TEN_OF_TEN).kw };
  }

  /**
   * One settlement row per hour and site of every frequency obligation (FCR-N, FCR-D, FFR:
   * answered locally, no activation) that overlaps the range, from the proof the droop stored:
   * capacity held, seconds covered, energy requested and delivered by the reserve units' own
   * meters. An hour under way is settled as far as it has gone.
   */
  async frequencySettlement(portfolioId: string, range: TimeRange): Promise<FrequencySettlementRow[]> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    const proof = this.o.proof;
    if (!proof)
      throw new GridflexError(MARKET_ERRORS.METER_DATA, 'no proof source is configured for settlement', {
        kind: 'input',
      });
    const local = new Set(
      this.o.catalog.products
        .filter((p) => p.activation.kind === 'frequency_droop' || p.activation.kind === 'frequency_threshold')
        .map((p) => p.id),
    );
    const rows: FrequencySettlementRow[] = [];
    const now = this.o.now();
    for (const o of await this.o.repo.obligations(portfolio.id, range)) {
      if (!local.has(o.productId) || o.startMs >= now) continue;
      const endMs = Math.min(o.endMs, now);
      for (const site of o.sites) {
        const p = await proof(site.siteId, { fromMs: o.startMs, toMs: endMs });
        rows.push(
          frequencySettlementRow(
            {
              obligationId: o.id,
              productId: o.productId,
              siteId: site.siteId,
              startMs: o.startMs,
              endMs,
              heldKw: site.kw,
            },
            p.requested,
            p.delivered,
          ),
        );
      }
    }
    return rows;
  }

  /** Stored settlement rows of the activations that started in the range. */
  async reports(portfolioId: string, range: TimeRange): Promise<SettlementRow[]> {
    const portfolio = findPortfolio(this.o.portfolios, portfolioId);
    return (await this.o.repo.reports(portfolio.id, range)).flatMap((r) => r.rows);
  }
}

/** Remaining availability: each site's figure minus what it already holds in that direction. */
export function subtractObligations(offered: Availability, held: readonly Obligation[]): Availability {
  return {
    ...offered,
    slots: offered.slots.map((slot) => {
      const inForce = held.filter((o) => o.startMs < slot.endMs && slot.startMs < o.endMs);
      const sites = slot.sites.map((site) => {
        let up = 0;
        let down = 0;
        for (const o of inForce)
          for (const s of o.sites)
            if (s.siteId === site.siteId) {
              if (o.direction !== 'down') up += s.kw;
              if (o.direction !== 'up') down += s.kw;
            }
        const upKw = Math.max(0, site.upKw - up);
        const downKw = Math.max(0, site.downKw - down);
        return { ...site, upKw, downKw, symmetricKw: Math.min(upKw, downKw) };
      });
      const sum = (f: (s: (typeof sites)[number]) => number) => sites.reduce((a, s) => a + f(s), 0);
      return {
        ...slot,
        sites,
        upKw: sum((s) => s.upKw),
        downKw: sum((s) => s.downKw),
        symmetricKw: sum((s) => s.symmetricKw),
      };
    }),
  };
}

function complete(values: (number | null)[], siteId: string, when: string): number[] {
  const missing = values.findIndex((v) => v === null || !Number.isFinite(v));
  if (missing >= 0 || values.length === 0)
    throw new GridflexError(
      MARKET_ERRORS.METER_DATA,
      `site ${siteId}: meter data missing ${when} (interval ${missing < 0 ? 0 : missing})`,
      { kind: 'input', details: { siteId, interval: missing } },
    );
  return values as number[];
}

function notFound(id: string): GridflexError {
  return new GridflexError(MODEL_ERRORS.NOT_FOUND, `no activation "${id}"`, { kind: 'not_found' });
}

function alreadyAccepted(ids: string[]): GridflexError {
  return new GridflexError(MARKET_ERRORS.ACCEPTANCE, `acceptance refused: ${ids[0]}: already accepted`, {
    kind: 'conflict',
    details: { problems: ids.map((id) => `${id}: already accepted`) },
  });
}
