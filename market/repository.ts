import type { Db, Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import type { ActivationPlan, ActivationRequest } from './activation.js';
import type { Bid, Obligation } from './bids.js';
import type { SettlementRow } from './delivery.js';
import type { ExecutionStatus } from './executor.js';

/** Create (or upgrade) the market's tables. */
export async function migrateMarket(store: Store): Promise<number[]> {
  return store.migrate(await loadMigrations('market', new URL('./migrations/', import.meta.url)));
}

export type ActivationState =
  | 'received'
  | 'dispatching'
  | 'active'
  | 'restoring'
  | 'completed'
  | 'failed'
  | 'cancelled';
export const FINAL_STATES: readonly ActivationState[] = ['completed', 'failed', 'cancelled'];

export type ActivationKind = 'activation' | 'dr_event';

export interface ActivationRecord {
  id: string;
  portfolioId: string;
  productId: string;
  kind: ActivationKind;
  bodyHash: string;
  request: ActivationRequest;
  plan: ActivationPlan;
  state: ActivationState;
  requestedBy: string | null;
  message: string | null;
  receivedMs: number;
  updatedMs: number;
}

export interface StateChange {
  state: ActivationState;
  tsMs: number;
  note: string | null;
}

export interface StoredReport {
  activationId: string;
  portfolioId: string;
  productId: string;
  startMs: number;
  endMs: number;
  rows: SettlementRow[];
  baseline: Record<string, unknown>;
  createdMs: number;
}

export interface StoredBid {
  bid: Bid;
  accepted: boolean;
  /** 1 when first stored, +1 at each explicit replace. */
  version: number;
}

/** A bid id that was stored before (and not replaced: not asked to, or already accepted). */
export interface BidConflict {
  id: string;
  accepted: boolean;
  version: number;
}

/** jsonb arrives parsed from both drivers, but a text cast would not: accept either. */
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

interface ActivationRow {
  id: string;
  portfolio_id: string;
  product_id: string;
  kind: ActivationKind;
  body_hash: string;
  request: unknown;
  plan: unknown;
  state: ActivationState;
  requested_by: string | null;
  message: string | null;
  received_ms: string | number;
  updated_ms: string | number;
}

const toActivation = (r: ActivationRow): ActivationRecord => ({
  id: r.id,
  portfolioId: r.portfolio_id,
  productId: r.product_id,
  kind: r.kind,
  bodyHash: r.body_hash,
  request: json(r.request),
  plan: json(r.plan),
  state: r.state,
  requestedBy: r.requested_by,
  message: r.message,
  receivedMs: Number(r.received_ms),
  updatedMs: Number(r.updated_ms),
});

/** SQL over the market tables. No rules here: the service decides, this only stores. */
export class MarketRepository {
  constructor(private readonly db: Db) {}

  /**
   * Store freshly built bids. A bid id already stored is a conflict unless `replace` is set:
   * then an unaccepted bid takes the new body and its version goes up by one, and the
   * unaccepted bids of the same product in the replaced periods that the new set no longer has
   * are withdrawn. An accepted bid is never replaced. All or nothing: on a conflict nothing is
   * stored and the conflicting ids are returned.
   */
  async saveBids(
    portfolioId: string,
    bids: readonly Bid[],
    nowMs: number,
    replace: boolean,
  ): Promise<{ ok: true; versions: Record<string, number> } | { ok: false; conflicts: BidConflict[] }> {
    return this.db
      .transaction(async (tx) => {
        const versions: Record<string, number> = {};
        const conflicts: BidConflict[] = [];
        for (const b of bids) {
          const inserted = await tx.query<{ version: number }>(
            `INSERT INTO market_bids (id, portfolio_id, product_id, start_ms, end_ms, body, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING version`,
            [b.id, portfolioId, b.productId, b.startMs, b.endMs, JSON.stringify(b), nowMs],
          );
          if (inserted.rows[0]) {
            versions[b.id] = Number(inserted.rows[0].version);
            continue;
          }
          const existing = await tx.query<{ accepted: boolean; version: number; portfolio_id: string }>(
            'SELECT accepted, version, portfolio_id FROM market_bids WHERE id = $1',
            [b.id],
          );
          const row = existing.rows[0]!;
          if (!replace || row.accepted || row.portfolio_id !== portfolioId) {
            conflicts.push({ id: b.id, accepted: row.accepted, version: Number(row.version) });
            continue;
          }
          const updated = await tx.query<{ version: number }>(
            `UPDATE market_bids SET body = $2, created_ms = $3, version = version + 1
             WHERE id = $1 AND accepted = false RETURNING version`,
            [b.id, JSON.stringify(b), nowMs],
          );
          versions[b.id] = Number(updated.rows[0]!.version);
        }
        if (conflicts.length > 0) throw new BidsConflict(conflicts);
        if (replace)
          for (const period of new Set(bids.map((b) => `${b.productId}\u0000${b.startMs}`))) {
            const [productId, startMs] = period.split('\u0000');
            await tx.query(
              `DELETE FROM market_bids WHERE portfolio_id = $1 AND product_id = $2 AND start_ms = $3
               AND accepted = false AND NOT (id = ANY($4::text[]))`,
              [portfolioId, productId, Number(startMs), bids.map((b) => b.id)],
            );
          }
        return { ok: true as const, versions };
      })
      .catch((err: unknown) => {
        if (err instanceof BidsConflict) return { ok: false as const, conflicts: err.conflicts };
        throw err;
      });
  }

  async bids(portfolioId: string, range: { fromMs: number; toMs: number }): Promise<StoredBid[]> {
    const res = await this.db.query<{ body: unknown; accepted: boolean; version: number }>(
      `SELECT body, accepted, version FROM market_bids
       WHERE portfolio_id = $1 AND end_ms > $2 AND start_ms < $3 ORDER BY start_ms, id`,
      [portfolioId, range.fromMs, range.toMs],
    );
    return res.rows.map((r) => ({
      bid: json<Bid>(r.body),
      accepted: r.accepted,
      version: Number(r.version),
    }));
  }

  async bidsById(portfolioId: string, ids: readonly string[]): Promise<{ bid: Bid; accepted: boolean }[]> {
    const res = await this.db.query<{ body: unknown; accepted: boolean }>(
      'SELECT body, accepted FROM market_bids WHERE portfolio_id = $1 AND id = ANY($2::text[])',
      [portfolioId, [...ids]],
    );
    return res.rows.map((r) => ({ bid: json<Bid>(r.body), accepted: r.accepted }));
  }

  /**
   * Record obligations and freeze their bids in one transaction. Returns false (and stores
   * nothing) when any of the bids was accepted meanwhile, so a bid is never sold twice.
   */
  async saveObligations(
    portfolioId: string,
    obligations: readonly Obligation[],
    nowMs: number,
  ): Promise<boolean> {
    return this.db
      .transaction(async (tx) => {
        for (const o of obligations) {
          const frozen = await tx.query(
            'UPDATE market_bids SET accepted = true WHERE id = $1 AND portfolio_id = $2 AND accepted = false',
            [o.id, portfolioId],
          );
          if (frozen.rowCount !== 1) throw new AlreadyAccepted();
          await tx.query(
            `INSERT INTO market_obligations (bid_id, portfolio_id, product_id, start_ms, end_ms, body, accepted_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [o.id, portfolioId, o.productId, o.startMs, o.endMs, JSON.stringify(o), nowMs],
          );
        }
        return true;
      })
      .catch((err: unknown) => {
        if (err instanceof AlreadyAccepted) return false;
        throw err;
      });
  }

  /** Obligations overlapping [fromMs, toMs). */
  async obligations(portfolioId: string, range: { fromMs: number; toMs: number }): Promise<Obligation[]> {
    const res = await this.db.query<{ body: unknown }>(
      `SELECT body FROM market_obligations
       WHERE portfolio_id = $1 AND end_ms > $2 AND start_ms < $3 ORDER BY start_ms, bid_id`,
      [portfolioId, range.fromMs, range.toMs],
    );
    return res.rows.map((r) => json<Obligation>(r.body));
  }

  /**
   * Insert a new activation in state `received`. Returns the stored record, or the existing
   * one when the id is taken (the caller compares body hashes): the primary key, not a prior
   * read, decides, so two concurrent posts of one id dispatch once.
   */
  async insertActivation(
    a: Omit<ActivationRecord, 'state' | 'message' | 'updatedMs'>,
  ): Promise<{ created: boolean; record: ActivationRecord }> {
    const inserted = await this.db.query<ActivationRow>(
      `INSERT INTO market_activations
         (id, portfolio_id, product_id, kind, body_hash, request, plan, state, requested_by, received_ms, updated_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $9, $9)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        a.id,
        a.portfolioId,
        a.productId,
        a.kind,
        a.bodyHash,
        JSON.stringify(a.request),
        JSON.stringify(a.plan),
        a.requestedBy,
        a.receivedMs,
      ],
    );
    if (inserted.rows[0]) {
      await this.db.query(
        'INSERT INTO market_activation_events (activation_id, state, ts_ms, note) VALUES ($1, $2, $3, $4)',
        [a.id, 'received', a.receivedMs, null],
      );
      return { created: true, record: toActivation(inserted.rows[0]) };
    }
    const existing = await this.activation(a.id);
    return { created: false, record: existing! };
  }

  async activation(id: string): Promise<ActivationRecord | null> {
    const res = await this.db.query<ActivationRow>('SELECT * FROM market_activations WHERE id = $1', [id]);
    return res.rows[0] ? toActivation(res.rows[0]) : null;
  }

  async activations(
    portfolioId: string,
    range: { fromMs: number; toMs: number },
  ): Promise<ActivationRecord[]> {
    const res = await this.db.query<ActivationRow>(
      `SELECT * FROM market_activations
       WHERE portfolio_id = $1 AND received_ms >= $2 AND received_ms < $3 ORDER BY received_ms, id`,
      [portfolioId, range.fromMs, range.toMs],
    );
    return res.rows.map(toActivation);
  }

  /** Activations not yet in a final state, oldest first (what the service still follows). */
  async openActivations(): Promise<ActivationRecord[]> {
    const res = await this.db.query<ActivationRow>(
      `SELECT * FROM market_activations WHERE state NOT IN ('completed', 'failed', 'cancelled')
       ORDER BY received_ms, id`,
    );
    return res.rows.map(toActivation);
  }

  /**
   * Ended activations that ran (the executor has a snapshot of them) and have no report yet,
   * updated since `sinceMs`: what the service still has to report on.
   */
  async unreported(sinceMs: number): Promise<ActivationRecord[]> {
    const res = await this.db.query<ActivationRow>(
      `SELECT * FROM market_activations a
       WHERE a.state IN ('completed', 'failed', 'cancelled') AND a.updated_ms >= $1
         AND NOT EXISTS (SELECT 1 FROM market_reports r WHERE r.activation_id = a.id)
         AND EXISTS (SELECT 1 FROM market_execution_snapshots s WHERE s.activation_id = a.id)
       ORDER BY a.received_ms, a.id`,
      [sinceMs],
    );
    return res.rows.map(toActivation);
  }

  /** Move to `state` and record the change; a no-op (false) when already final. */
  async setState(id: string, state: ActivationState, tsMs: number, note: string | null): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const res = await tx.query(
        `UPDATE market_activations SET state = $2, updated_ms = $3, message = COALESCE($4, message)
         WHERE id = $1 AND state NOT IN ('completed', 'failed', 'cancelled') AND state <> $2`,
        [id, state, tsMs, note],
      );
      if (res.rowCount !== 1) return false;
      await tx.query(
        'INSERT INTO market_activation_events (activation_id, state, ts_ms, note) VALUES ($1, $2, $3, $4)',
        [id, state, tsMs, note],
      );
      return true;
    });
  }

  async history(id: string): Promise<StateChange[]> {
    const res = await this.db.query<{ state: ActivationState; ts_ms: string | number; note: string | null }>(
      'SELECT state, ts_ms, note FROM market_activation_events WHERE activation_id = $1 ORDER BY id',
      [id],
    );
    return res.rows.map((r) => ({ state: r.state, tsMs: Number(r.ts_ms), note: r.note }));
  }

  async saveSnapshot(status: ExecutionStatus): Promise<void> {
    await this.db.query(
      'INSERT INTO market_execution_snapshots (activation_id, state, updated_ms, status) VALUES ($1, $2, $3, $4)',
      [status.activationId, status.state, status.updatedMs, JSON.stringify(status)],
    );
  }

  async latestSnapshot(activationId: string): Promise<ExecutionStatus | null> {
    const res = await this.db.query<{ status: unknown }>(
      'SELECT status FROM market_execution_snapshots WHERE activation_id = $1 ORDER BY id DESC LIMIT 1',
      [activationId],
    );
    return res.rows[0] ? json<ExecutionStatus>(res.rows[0].status) : null;
  }

  /** Reports are recomputed when meter data arrives late: the newest replaces the older. */
  async saveReport(r: StoredReport): Promise<void> {
    await this.db.query(
      `INSERT INTO market_reports (activation_id, portfolio_id, product_id, start_ms, end_ms, rows, baseline, created_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (activation_id) DO UPDATE SET rows = EXCLUDED.rows, baseline = EXCLUDED.baseline,
         created_ms = EXCLUDED.created_ms`,
      [
        r.activationId,
        r.portfolioId,
        r.productId,
        r.startMs,
        r.endMs,
        JSON.stringify(r.rows),
        JSON.stringify(r.baseline),
        r.createdMs,
      ],
    );
  }

  async reports(portfolioId: string, range: { fromMs: number; toMs: number }): Promise<StoredReport[]> {
    const res = await this.db.query<{
      activation_id: string;
      portfolio_id: string;
      product_id: string;
      start_ms: string | number;
      end_ms: string | number;
      rows: unknown;
      baseline: unknown;
      created_ms: string | number;
    }>(
      `SELECT * FROM market_reports WHERE portfolio_id = $1 AND start_ms >= $2 AND start_ms < $3
       ORDER BY start_ms, activation_id`,
      [portfolioId, range.fromMs, range.toMs],
    );
    return res.rows.map((r) => ({
      activationId: r.activation_id,
      portfolioId: r.portfolio_id,
      productId: r.product_id,
      startMs: Number(r.start_ms),
      endMs: Number(r.end_ms),
      rows: json(r.rows),
      baseline: json(r.baseline),
      createdMs: Number(r.created_ms),
    }));
  }

  /** Row counts per table: tests check that a refused request changed nothing. */
  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of [
      'market_bids',
      'market_obligations',
      'market_activations',
      'market_activation_events',
      'market_execution_snapshots',
      'market_reports',
    ]) {
      const res = await this.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${t}`);
      out[t] = Number(res.rows[0]!.n);
    }
    return out;
  }
}

class AlreadyAccepted extends Error {}

class BidsConflict extends Error {
  constructor(readonly conflicts: BidConflict[]) {
    super('bids exist');
  }
}
