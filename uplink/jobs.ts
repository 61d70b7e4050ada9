import type PgBoss from 'pg-boss';
import { UPLINK_ERRORS, UplinkError } from './errors.js';

export interface ReplanJob<T = unknown> {
  site: string;
  /**
   * What the job asks; absent on the fleet's jobs, which carry a whole optimisation problem.
   * The queue carries it as it is; the worker validates it (app/uplink.ts).
   */
  kind?: string;
  data: T;
}

/** A job as a worker receives it: pg-boss keeps its id across retries and re-deliveries. */
export interface QueuedReplan<T = unknown> extends ReplanJob<T> {
  id: string;
  /** When the job was created (the first of the requests merged into it). */
  requestedMs: number;
}

/** How a worker's `handle` ends a job: failed (retried), done, or done with an answer for whoever waits on it. */
export type JobOutcome = Error | null | { output: Record<string, unknown> };

/** A submitted job as its sender sees it (`ReplanQueue.job`). */
export interface JobStatus {
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  /** The worker's answer once completed; `{ message }` once failed. */
  output: unknown;
}

export interface SubmitOptions {
  /**
   * The job's singleton key. On this `stately` queue one job per key may wait and one run, and
   * a worker's whole batch is refused while it would start a second running job of a key, so a
   * job whose sender waits for it takes a key of its own (`lp:<site>:<uuid>`), never the
   * site's, which the fleet's jobs hold.
   */
  key: string;
  /** Fetched before jobs of lower priority (the fleet's are 0). */
  priority?: number;
  retryLimit?: number;
  expireInSeconds?: number;
}

export interface ReplanQueueOptions {
  /** A PostgreSQL server URL. pg-boss cannot run on the embedded (PGlite) database. */
  url: string;
  queue?: string;
  /** pg-boss's own schema (default `pgboss`). */
  schema?: string;
  /** Connections of this process (default 4). */
  max?: number;
  /**
   * Run pg-boss' maintenance here every this many seconds (off by default): it fails a job
   * still running after its expiry (its worker died) so it is delivered again, and archives
   * finished ones. Every `gridflex worker` runs it; pg-boss lets one process per interval do the
   * work, so several workers are safe.
   */
  maintenanceSeconds?: number;
  /** Created queues only: how long a fetched job may run before maintenance gives it to another worker (default 120 s). */
  expireInSeconds?: number;
}

/**
 * The fleet re-plan queue on pg-boss 10 (pinned: 11 needs Node 22). One job per site with the
 * site as singleton key on a `stately` queue: at most one waiting and one running re-plan per
 * site, so repeated requests merge. Workers fetch in batches in their own loop instead of
 * `boss.work`, whose worker sleeps a whole polling interval after every fetch even when jobs
 * were found (minimum 0.5 s): here a worker fetches again at once while there is work and
 * waits `idleMs` only when the queue was empty.
 */
export class ReplanQueue {
  private constructor(
    private readonly boss: PgBoss,
    readonly queue: string,
  ) {}

  static async open(o: ReplanQueueOptions): Promise<ReplanQueue> {
    if (!/^postgres(ql)?:\/\//.test(o.url)) {
      throw new UplinkError(
        UPLINK_ERRORS.queueNeedsPostgres,
        'gridflex worker needs DATABASE_URL to name a PostgreSQL server (the job queue does not run on the embedded database)',
      );
    }
    // Loaded here, not at import: only workers and `uplink.workers` use the queue.
    const { default: PgBossClass } = await import('pg-boss');
    const boss = new PgBossClass({
      connectionString: o.url,
      schema: o.schema ?? 'pgboss',
      max: o.max ?? 4,
      // Maintenance (expiry of jobs whose worker died, archiving) where asked; no cron.
      supervise: o.maintenanceSeconds !== undefined,
      ...(o.maintenanceSeconds !== undefined ? { maintenanceIntervalSeconds: o.maintenanceSeconds } : {}),
      schedule: false,
    });
    boss.on('error', () => undefined);
    await boss.start();
    const queue = o.queue ?? 'replan';
    if (!(await boss.getQueue(queue))) {
      // A site's re-plan takes milliseconds: a job still running after two minutes lost its worker.
      await boss.createQueue(queue, {
        name: queue,
        policy: 'stately',
        retryLimit: 2,
        expireInSeconds: o.expireInSeconds ?? 120,
      });
    }
    return new ReplanQueue(boss, queue);
  }

  /** Request re-plans; a site already waiting merges with its waiting job. */
  async request<T extends object>(jobs: readonly ReplanJob<T>[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000) {
      await this.boss.insert(
        jobs.slice(i, i + 1000).map((j) => ({ name: this.queue, data: envelope(j), singletonKey: j.site })),
      );
    }
  }

  /** Queue one job under its own key (see `SubmitOptions.key`); its id, to follow it with `job`. */
  async submit<T extends object>(job: ReplanJob<T>, o: SubmitOptions): Promise<string> {
    const id = await this.boss.send(this.queue, envelope(job), {
      singletonKey: o.key,
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.retryLimit !== undefined ? { retryLimit: o.retryLimit } : {}),
      ...(o.expireInSeconds !== undefined ? { expireInSeconds: o.expireInSeconds } : {}),
    });
    if (id === null)
      throw new UplinkError(
        UPLINK_ERRORS.jobRefused,
        `the queue refused the job of ${job.site}: a job with key "${o.key}" is already waiting`,
      );
    return id;
  }

  /** A submitted job's state and answer; null once it is gone (deleted, or archived and purged). */
  async job(id: string): Promise<JobStatus | null> {
    const j = await this.boss.getJobById(this.queue, id, { includeArchive: true });
    return j === null ? null : { state: j.state, output: j.output ?? null };
  }

  /**
   * Delete a submitted job whatever its state: a waiting one is never fetched, a running one's
   * answer is dropped (its worker completes nothing), an answered one leaves no row behind (no
   * process here runs pg-boss' maintenance, which would archive it).
   */
  async remove(id: string): Promise<void> {
    await this.boss.deleteJob(this.queue, id);
  }

  async size(): Promise<number> {
    return this.boss.getQueueSize(this.queue);
  }

  /**
   * Solve jobs until `signal` aborts (or, with `untilEmpty`, the queue is empty): fetch up to
   * `batchSize`, hand them to `handle` together (it may solve them in parallel), complete the
   * solved ones (with their `output`, if any) and fail the others (pg-boss retries them). A job
   * is completed only after `handle` resolved, so whatever it stored is there for every
   * completed job; a job whose worker died is delivered again with the same id.
   */
  async work<T>(
    handle: (jobs: QueuedReplan<T>[]) => Promise<JobOutcome[]>,
    o: { batchSize?: number; idleMs?: number; signal?: AbortSignal; untilEmpty?: boolean } = {},
  ): Promise<number> {
    let done = 0;
    while (!o.signal?.aborted) {
      const fetched = await this.boss.fetch<{ site: string; kind?: string; data: T }>(this.queue, {
        batchSize: o.batchSize ?? 50,
        includeMetadata: true,
      });
      if (fetched.length === 0) {
        if (o.untilEmpty) break;
        await new Promise((r) => setTimeout(r, o.idleMs ?? 500));
        continue;
      }
      const outcomes = await handle(
        fetched.map((j) => ({
          id: j.id,
          site: j.data.site,
          ...(j.data.kind === undefined ? {} : { kind: j.data.kind }),
          data: j.data.data,
          requestedMs: j.createdOn.getTime(),
        })),
      );
      const ok = fetched.filter((_, i) => outcomes[i] === null).map((j) => j.id);
      if (ok.length > 0) await this.boss.complete(this.queue, ok);
      for (const [i, outcome] of outcomes.entries()) {
        const id = fetched[i]!.id;
        if (outcome instanceof Error) await this.boss.fail(this.queue, id, { message: outcome.message });
        else if (outcome !== null) {
          await this.boss.complete(this.queue, id, outcome.output);
          done++;
        }
      }
      done += ok.length;
    }
    return done;
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }
}

function envelope<T>(j: ReplanJob<T>): { site: string; kind?: string; data: T } {
  return { site: j.site, ...(j.kind === undefined ? {} : { kind: j.kind }), data: j.data };
}
