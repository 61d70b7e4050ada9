import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  DurationSchema,
  type FieldIssue,
  IdSchema,
  parseOrThrow,
  type Reading,
  ValidationError,
} from '../model/index.js';
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
  type JobOutcome,
  type QueuedReplan,
  type ReplanJob,
  ReplanQueue,
  ReplanStore,
  type SiteAddress,
  type StoredReplan,
} from '../uplink/index.js';
import { APP_ERRORS } from './errors.js';
import { LP_JOB_KIND, solveLpJob } from './queue-solver.js';

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
  /**
   * `true`: the live optimisers of `gridflex run` solve their LPs on `gridflex worker`
   * processes through the re-plan queue (app/queue-solver.ts) instead of a thread of their own.
   * Needs a PostgreSQL server (`database.url` or DATABASE_URL): the queue is not in the
   * embedded database.
   */
  workers: z.boolean().default(false),
});
export type CentralUplinkConfig = z.infer<typeof CentralUplinkSchema>;

/**
 * `uplink.workers` without a PostgreSQL server is refused, naming the field. Checked at start,
 * where DATABASE_URL (which wins over `database.url`) is known.
 */
export function uplinkWorkersIssues(
  uplink: Pick<CentralUplinkConfig, 'workers'> | undefined,
  databaseUrl: string | undefined,
): FieldIssue[] {
  if (!uplink?.workers || /^postgres(ql)?:\/\//.test(databaseUrl ?? '')) return [];
  return [
    {
      path: 'uplink.workers',
      message:
        'solving on gridflex worker processes needs a PostgreSQL server for the job queue: set database.url or DATABASE_URL (the embedded database cannot hold it)',
      code: 'custom',
    },
  ];
}

/** Throws the `uplinkWorkersIssues` as the configuration's error. */
export function checkUplinkWorkers(
  uplink: Pick<CentralUplinkConfig, 'workers'> | undefined,
  databaseUrl: string | undefined,
): void {
  const issues = uplinkWorkersIssues(uplink, databaseUrl);
  if (issues.length > 0)
    throw new ValidationError('the configuration is invalid', issues, APP_ERRORS.configInvalid);
}

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
  /** pg-boss maintenance interval of this worker, s (default 30): expires jobs of dead workers. */
  maintenanceSeconds?: number;
}

export interface ReplanOutcome {
  site: string;
  /** `problem`: a fleet re-plan (stored); `lp`: a live optimiser's LP (answered in the job). */
  kind: ReplanKind;
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

/** What a job asks, validated at the worker: absent on the fleet's jobs (a whole problem). */
export const ReplanKindSchema = z.enum(['problem', LP_JOB_KIND]).default('problem');
export type ReplanKind = z.infer<typeof ReplanKindSchema>;

export interface SolveReplansOptions<J> {
  /**
   * Keep a solved job's plan; resolves with false when it was already kept. A job's outcome
   * counts only once this resolved, so the queue completes no job whose plan is not stored;
   * when it rejects, the job fails (pg-boss retries it).
   */
  store?: (job: J, p: Problem, r: OptimizeResult) => Promise<boolean>;
  onSolved?: (r: ReplanOutcome) => void;
}

/**
 * Solve a batch of jobs one after another on this thread, LP jobs first (a live loop waits for
 * each); per job an error, null (a fleet re-plan, stored by `store`) or the LP's solution as
 * the job's output.
 */
export async function solveReplans<J extends ReplanJob<unknown>>(
  jobs: readonly J[],
  o: SolveReplansOptions<J> = {},
): Promise<JobOutcome[]> {
  const out: JobOutcome[] = jobs.map(() => null);
  const lpFirst = jobs.map((_, i) => i).sort((a, b) => rank(jobs[a]!) - rank(jobs[b]!));
  for (const i of lpFirst) {
    const job = jobs[i]!;
    try {
      const kind = parseOrThrow(ReplanKindSchema, job.kind, `the kind of the job of ${job.site}`);
      if (kind === LP_JOB_KIND) {
        const { solution, output } = await solveLpJob(job.data, job.site);
        o.onSolved?.({
          site: job.site,
          kind,
          status: solution.status,
          objective: solution.objective ?? null,
        });
        out[i] = { output };
        continue;
      }
      const p = parseProblem(job.data, `re-plan of ${job.site}`);
      const r = await optimize(p, SOLVERS.highs);
      const stored = o.store ? await o.store(job, p, r) : undefined;
      o.onSolved?.({
        site: job.site,
        kind,
        status: r.status,
        objective: r.objective ?? null,
        ...(stored === undefined ? {} : { stored }),
      });
    } catch (err) {
      out[i] = err as Error;
    }
  }
  return out;
}

const rank = (job: ReplanJob<unknown>) => (job.kind === LP_JOB_KIND ? 0 : 1);

export function openReplanQueue(
  o: Pick<ReplanWorkerOptions, 'url' | 'schema' | 'queue' | 'maintenanceSeconds'>,
): Promise<ReplanQueue> {
  return ReplanQueue.open({
    url: o.url,
    ...(o.schema ? { schema: o.schema } : {}),
    ...(o.queue ? { queue: o.queue } : {}),
    max: 2,
    // Workers keep the queue healthy: a job whose worker died is given to another.
    maintenanceSeconds: o.maintenanceSeconds ?? 30,
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
 * `gridflex worker`: take re-plan jobs from the queue and solve them on this process's thread
 * (run one process per core): a fleet job (one site's optimisation problem) is stored in
 * `uplink_replans` of the same database before its job is completed; an LP job (a live
 * optimiser of `gridflex run` with `uplink.workers`) is completed with its solution, which
 * central reads from the job. Returns the number solved.
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
