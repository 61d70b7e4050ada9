import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DurationSchema, IdSchema, type Reading } from '../model/index.js';
import {
  type CostBreakdown,
  type OptimizeResult,
  optimize,
  type Problem,
  parseProblem,
  type Schedule,
  SOLVERS,
} from '../optimizer/index.js';
import { openStore, type Store } from '../store/index.js';
import {
  CentralIngest,
  type QueuedReplan,
  type ReplanJob,
  ReplanQueue,
  ReplanStore,
  type SiteAddress,
  type StoredReplan,
} from '../uplink/index.js';

/**
 * Central's side of the uplink, wired here because it joins the uplink (telemetry, commands,
 * job queue) with the optimiser: `gridflex run` with an `uplink:` section and `gridflex worker`.
 */
/** The `uplink:` section of gridflex.yaml (central). */
export const CentralUplinkSchema = z.object({
  /** Broker URL (mqtt:// or mqtts://). */
  broker: z.string().regex(/^mqtts?:\/\//, 'expected mqtt://… or mqtts://…'),
  username: z.string().min(1).optional(),
  /** A file holding the broker password (never the password itself in the YAML). */
  passwordFile: z.string().min(1).optional(),
  /** Stable per central process: the broker keeps its session while it restarts. */
  clientId: z.string().min(1).optional(),
  tenant: IdSchema.optional(),
  /**
   * `tenant/site` → the edge id that serves it; messages from any other edge are dropped. A
   * site of this file listed here is planned here and dispatched through its edge (central does
   * not poll its devices: the edge does).
   */
  edges: z
    .record(z.string(), IdSchema)
    .superRefine((edges, ctx) => {
      // Checked here rather than as the record's key schema, whose failure zod words "Invalid key in record".
      for (const key of Object.keys(edges))
        if (!/^[a-z0-9][a-z0-9_-]*\/[a-z0-9][a-z0-9_-]*$/.test(key))
          ctx.addIssue({ code: 'custom', path: [key], message: `expected tenant/site, got "${key}"` });
    })
    .optional(),
  /** How long a command holds at the edge without renewal; central renews every third of it. */
  lease: DurationSchema.prefault('60s'),
  /** How long a write waits for the edge's answer before it is recorded as failed. */
  answerTimeout: DurationSchema.prefault('10s'),
});
export type CentralUplinkConfig = z.infer<typeof CentralUplinkSchema>;

/** Consume every edge's telemetry into the central store (`gridflex run` with `uplink:`). */
export function startCentralUplink(
  config: CentralUplinkConfig,
  store: Store,
  onCommitted?: (readings: readonly Reading[]) => void,
): Promise<CentralIngest> {
  return CentralIngest.start({
    url: config.broker,
    store,
    ...(onCommitted ? { onCommitted } : {}),
    ...(config.username ? { username: config.username } : {}),
    ...(config.passwordFile ? { password: readFileSync(config.passwordFile, 'utf8').trim() } : {}),
    ...(config.clientId ? { clientId: config.clientId } : {}),
    ...(config.tenant ? { tenant: config.tenant } : {}),
    ...(config.edges ? { edges: new Map(Object.entries(config.edges)) } : {}),
  });
}

/** Send a site's setpoints to its edge under a lease of `validForMs` (central dispatch through an edge). */
export async function dispatchThroughEdge(
  ingest: CentralIngest,
  addr: SiteAddress,
  setpoints: { point: string; value: number }[],
  validForMs: number,
): Promise<string> {
  const cmd = await ingest.command(addr, { setpoints }, validForMs);
  return cmd.cmdId;
}

export interface ReplanWorkerOptions {
  /** PostgreSQL server URL (DATABASE_URL): pg-boss does not run on the embedded database. */
  url: string;
  /** Jobs fetched at once (default 10): small enough that workers share the tail of a fleet. */
  batchSize?: number;
  /** Wait this long when the queue was empty (default 500 ms, pg-boss's minimum interval). */
  idleMs?: number;
  /** Stop when the queue is empty (bench, one-shot runs) instead of waiting for more. */
  untilEmpty?: boolean;
  signal?: AbortSignal;
  schema?: string;
  queue?: string;
}

export interface ReplanOutcome {
  site: string;
  status: string;
  objective: number | null;
  /** Stored runs only: false when the job's row was already there (a job delivered again). */
  stored?: boolean;
}

/**
 * What central reads from a stored re-plan (`uplink_replans.solution`): the costs and, per slot
 * of `slotMinutes` from the start of the problem's horizon, the grid flows, the PV used and
 * every asset's setpoints by asset id (kW). No schedule when the status is not `optimal`.
 */
export type ReplanSolution = {
  slotMinutes: number;
  baselineCost: number;
  savings: number | null;
  cost: CostBreakdown | null;
  schedule: Schedule | null;
  /** Why there is no plan (for an infeasible problem: what conflicts), or the solver's note. */
  message?: string;
};

/** The row stored for a solved job; the solve time is passed in. */
export function storedReplan(
  job: QueuedReplan<unknown>,
  p: Problem,
  r: OptimizeResult,
  solvedMs: number,
): StoredReplan {
  const solution: ReplanSolution = {
    slotMinutes: p.slotMinutes,
    baselineCost: r.baselineCost,
    savings: r.savings,
    cost: r.cost,
    schedule: r.schedule,
    ...(r.message !== undefined ? { message: r.message } : {}),
  };
  return {
    site: job.site,
    jobId: job.id,
    requestedMs: job.requestedMs,
    solvedMs,
    status: r.status,
    objective: r.objective,
    solution,
  };
}

export interface SolveReplansOptions<J> {
  /**
   * Keep a solved job's plan; resolves with false when it was already kept. A job's outcome
   * counts only once this resolved, so the queue completes no job whose plan is not stored;
   * when it rejects, the job fails (pg-boss retries it).
   */
  store?: (job: J, p: Problem, r: OptimizeResult) => Promise<boolean>;
  onSolved?: (r: ReplanOutcome) => void;
}

/** Solve a batch of re-plan jobs one after another on this thread; an error per failed job. */
export async function solveReplans<J extends ReplanJob<unknown>>(
  jobs: readonly J[],
  o: SolveReplansOptions<J> = {},
): Promise<(Error | null)[]> {
  const out: (Error | null)[] = [];
  for (const job of jobs) {
    try {
      const p = parseProblem(job.data, `re-plan of ${job.site}`);
      const r = await optimize(p, SOLVERS.highs);
      const stored = o.store ? await o.store(job, p, r) : undefined;
      o.onSolved?.({
        site: job.site,
        status: r.status,
        objective: r.objective ?? null,
        ...(stored === undefined ? {} : { stored }),
      });
      out.push(null);
    } catch (err) {
      out.push(err as Error);
    }
  }
  return out;
}

export function openReplanQueue(
  o: Pick<ReplanWorkerOptions, 'url' | 'schema' | 'queue'>,
): Promise<ReplanQueue> {
  return ReplanQueue.open({
    url: o.url,
    ...(o.schema ? { schema: o.schema } : {}),
    ...(o.queue ? { queue: o.queue } : {}),
    max: 2,
  });
}

/**
 * The worker loop on an open queue: fetch a batch, solve it, store each plan in `plans`,
 * complete the batch; again at once while there is work. Without `plans` (the bench) the
 * plans are not kept.
 */
export function workReplans(
  queue: ReplanQueue,
  o: Omit<ReplanWorkerOptions, 'url' | 'schema' | 'queue'> & { plans?: ReplanStore },
  onSolved?: (r: ReplanOutcome) => void,
): Promise<number> {
  const { plans } = o;
  return queue.work<unknown>(
    (jobs) =>
      solveReplans(jobs, {
        ...(plans ? { store: (job, p, r) => plans.save(storedReplan(job, p, r, Date.now())) } : {}),
        ...(onSolved ? { onSolved } : {}),
      }),
    {
      batchSize: o.batchSize ?? 10,
      idleMs: o.idleMs ?? 500,
      ...(o.untilEmpty ? { untilEmpty: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
}

/**
 * `gridflex worker`: take re-plan jobs (one site's optimisation problem each) from the queue,
 * solve them on this process's thread (run one process per core) and store each plan in
 * `uplink_replans` of the same database before completing its job. Returns the number solved.
 */
export async function runReplanWorker(
  o: ReplanWorkerOptions,
  onSolved?: (r: ReplanOutcome) => void,
): Promise<number> {
  const queue = await openReplanQueue(o);
  let store: Store | undefined;
  try {
    store = await openStore({ url: o.url });
    return await workReplans(queue, { ...o, plans: await ReplanStore.open(store) }, onSolved);
  } finally {
    await queue.close();
    await store?.close();
  }
}
