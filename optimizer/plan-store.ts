import type { Db, Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import { baselineSchedule } from './baseline.js';
import { scheduleCost } from './check.js';
import type { OptimizeResult } from './optimize.js';
import type { Plan, PlanRequest } from './replan.js';
import type { Schedule } from './schedule.js';

/** Create (or upgrade) the optimiser's tables. */
export async function migrateOptimizer(store: Store): Promise<number[]> {
  return store.migrate(await loadMigrations('optimizer', new URL('./migrations/', import.meta.url)));
}

/** A plan as stored: the plan, where it belongs, and the inputs behind it. */
export interface StoredPlan {
  id: number;
  site: string;
  createdMs: number;
  slot: number;
  startMs: number;
  slotMinutes: number;
  source: Plan['source'];
  /** The solver's status for a solved plan, `fallback` otherwise. */
  status: string;
  /** The model's cost at the plan; null for fallbacks (they were not solved for these inputs). */
  objective: number | null;
  baselineCost: number;
  message: string | null;
  request: PlanRequest;
  schedule: Schedule;
  result: OptimizeResult | null;
}

/** The listing of a day's plans: everything but the bulky JSON. */
export type PlanSummary = Omit<StoredPlan, 'request' | 'schedule' | 'result'>;

interface Row {
  id: string | number;
  site: string;
  created_ms: string | number;
  slot: string | number;
  start_ms: string | number;
  slot_minutes: number;
  source: Plan['source'];
  status: string;
  objective: number | null;
  baseline_cost: number;
  message: string | null;
  request?: unknown;
  schedule?: unknown;
  result?: unknown;
}

/** jsonb arrives parsed from both drivers; accept text too. */
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

const SUMMARY = `id, site, created_ms, slot, start_ms, slot_minutes, source, status, objective, baseline_cost, message`;

function summary(r: Row): PlanSummary {
  return {
    id: Number(r.id),
    site: r.site,
    createdMs: Number(r.created_ms),
    slot: Number(r.slot),
    startMs: Number(r.start_ms),
    slotMinutes: r.slot_minutes,
    source: r.source,
    status: r.status,
    objective: r.objective,
    baselineCost: r.baseline_cost,
    message: r.message,
  };
}

function full(r: Row): StoredPlan {
  return {
    ...summary(r),
    request: json<PlanRequest>(r.request),
    schedule: json<Schedule>(r.schedule),
    result: r.result === null || r.result === undefined ? null : json<OptimizeResult>(r.result),
  };
}

/** Saves plans with their inputs and reads them back (`optimizer_plans`). */
export class PlanRepository {
  constructor(private readonly db: Db) {}

  /** Store one plan of `site`, made at `createdMs`; returns its id. */
  async save(site: string, plan: Plan, createdMs: number): Promise<number> {
    const p = plan.request.problem;
    const startMs = plan.request.startMs ?? plan.slot * p.slotMinutes * 60_000;
    const baselineCost = plan.result?.baselineCost ?? scheduleCost(p, baselineSchedule(p)).total;
    const res = await this.db.query<{ id: string | number }>(
      `INSERT INTO optimizer_plans (site, created_ms, slot, start_ms, slot_minutes, source, status, objective,
         baseline_cost, message, request, schedule, result)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb) RETURNING id`,
      [
        site,
        createdMs,
        plan.slot,
        startMs,
        p.slotMinutes,
        plan.source,
        plan.source === 'solved' ? (plan.result?.status ?? 'optimal') : 'fallback',
        plan.source === 'solved' ? (plan.result?.objective ?? null) : null,
        baselineCost,
        plan.message ?? null,
        JSON.stringify({ ...plan.request, startMs }),
        JSON.stringify(plan.schedule),
        plan.result ? JSON.stringify(plan.result) : null,
      ],
    );
    return Number(res.rows[0]!.id);
  }

  /** The newest plan of a site (by first slot, then by when it was made), with everything. */
  async latest(site: string): Promise<StoredPlan | null> {
    const res = await this.db.query<Row>(
      `SELECT ${SUMMARY}, request, schedule, result FROM optimizer_plans WHERE site = $1
       ORDER BY start_ms DESC, id DESC LIMIT 1`,
      [site],
    );
    return res.rows[0] ? full(res.rows[0]) : null;
  }

  async get(id: number): Promise<StoredPlan | null> {
    const res = await this.db.query<Row>(
      `SELECT ${SUMMARY}, request, schedule, result FROM optimizer_plans WHERE id = $1`,
      [id],
    );
    return res.rows[0] ? full(res.rows[0]) : null;
  }

  /** Plans whose first slot starts in [fromMs, toMs) (e.g. a local day), oldest first. */
  async list(site: string, fromMs: number, toMs: number): Promise<PlanSummary[]> {
    const res = await this.db.query<Row>(
      `SELECT ${SUMMARY} FROM optimizer_plans WHERE site = $1 AND start_ms >= $2 AND start_ms < $3
       ORDER BY start_ms, id`,
      [site, fromMs, toMs],
    );
    return res.rows.map(summary);
  }
}
