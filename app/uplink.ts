import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { IdSchema } from '../model/index.js';
import { optimize, parseProblem, SOLVERS } from '../optimizer/index.js';
import type { Store } from '../store/index.js';
import { CentralIngest, type ReplanJob, ReplanQueue, type SiteAddress } from '../uplink/index.js';

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
  /** `tenant/site` → the edge id that serves it; messages from any other edge are dropped. */
  edges: z.record(z.string(), IdSchema).optional(),
});
export type CentralUplinkConfig = z.infer<typeof CentralUplinkSchema>;

/** Consume every edge's telemetry into the central store (`gridflex run` with `uplink:`). */
export function startCentralUplink(config: CentralUplinkConfig, store: Store): Promise<CentralIngest> {
  return CentralIngest.start({
    url: config.broker,
    store,
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
}

/** Solve a batch of re-plan jobs one after another on this thread; an error per failed job. */
export async function solveReplans(
  jobs: ReplanJob<unknown>[],
  onSolved?: (r: ReplanOutcome) => void,
): Promise<(Error | null)[]> {
  const out: (Error | null)[] = [];
  for (const job of jobs) {
    try {
      const r = await optimize(parseProblem(job.data, `re-plan of ${job.site}`), SOLVERS.highs);
      onSolved?.({ site: job.site, status: r.status, objective: r.objective ?? null });
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

/** The worker loop on an open queue: fetch a batch, solve it, complete it; again at once while there is work. */
export function workReplans(
  queue: ReplanQueue,
  o: Omit<ReplanWorkerOptions, 'url' | 'schema' | 'queue'>,
  onSolved?: (r: ReplanOutcome) => void,
): Promise<number> {
  return queue.work<unknown>((jobs) => solveReplans(jobs, onSolved), {
    batchSize: o.batchSize ?? 10,
    idleMs: o.idleMs ?? 500,
    ...(o.untilEmpty ? { untilEmpty: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

/**
 * `gridflex worker`: take re-plan jobs (one site's optimisation problem each) from the queue
 * and solve them on this process's thread (run one process per core). Returns the number
 * solved. pg-boss keeps each job's state; storing the plans with the live plan store is not
 * done yet (see uplink/README.md).
 */
export async function runReplanWorker(
  o: ReplanWorkerOptions,
  onSolved?: (r: ReplanOutcome) => void,
): Promise<number> {
  const queue = await openReplanQueue(o);
  try {
    return await workReplans(queue, o, onSolved);
  } finally {
    await queue.close();
  }
}
