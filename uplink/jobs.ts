import PgBoss from 'pg-boss';
import { UPLINK_ERRORS, UplinkError } from './errors.js';

export interface ReplanJob<T = unknown> {
  site: string;
  data: T;
}

/** A job as a worker receives it: pg-boss keeps its id across retries and re-deliveries. */
export interface QueuedReplan<T = unknown> extends ReplanJob<T> {
  id: string;
  /** When the job was created (the first of the requests merged into it). */
  requestedMs: number;
}

export interface ReplanQueueOptions {
  /** A PostgreSQL server URL. pg-boss cannot run on the embedded (PGlite) database. */
  url: string;
  queue?: string;
  /** pg-boss's own schema (default `pgboss`). */
  schema?: string;
  /** Connections of this process (default 4). */
  max?: number;
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
    const boss = new PgBoss({
      connectionString: o.url,
      schema: o.schema ?? 'pgboss',
      max: o.max ?? 4,
      // Maintenance and cron belong to one process; workers stay light.
      supervise: false,
      schedule: false,
    });
    boss.on('error', () => undefined);
    await boss.start();
    const queue = o.queue ?? 'replan';
    if (!(await boss.getQueue(queue))) {
      await boss.createQueue(queue, { name: queue, policy: 'stately', retryLimit: 2, expireInSeconds: 900 });
    }
    return new ReplanQueue(boss, queue);
  }

  /** Request re-plans; a site already waiting merges with its waiting job. */
  async request<T extends object>(jobs: readonly ReplanJob<T>[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000) {
      await this.boss.insert(
        jobs
          .slice(i, i + 1000)
          .map((j) => ({ name: this.queue, data: { site: j.site, data: j.data }, singletonKey: j.site })),
      );
    }
  }

  async size(): Promise<number> {
    return this.boss.getQueueSize(this.queue);
  }

  /**
   * Solve jobs until `signal` aborts (or, with `untilEmpty`, the queue is empty): fetch up to
   * `batchSize`, hand them to `handle` together (it may solve them in parallel), complete the
   * solved ones and fail the others (pg-boss retries them). A job is completed only after
   * `handle` resolved, so whatever it stored is there for every completed job; a job whose
   * worker died is delivered again with the same id.
   */
  async work<T>(
    handle: (jobs: QueuedReplan<T>[]) => Promise<(Error | null)[]>,
    o: { batchSize?: number; idleMs?: number; signal?: AbortSignal; untilEmpty?: boolean } = {},
  ): Promise<number> {
    let done = 0;
    while (!o.signal?.aborted) {
      const fetched = await this.boss.fetch<{ site: string; data: T }>(this.queue, {
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
          data: j.data.data,
          requestedMs: j.createdOn.getTime(),
        })),
      );
      const ok = fetched.filter((_, i) => !outcomes[i]).map((j) => j.id);
      if (ok.length > 0) await this.boss.complete(this.queue, ok);
      for (const [i, err] of outcomes.entries()) {
        if (err) await this.boss.fail(this.queue, fetched[i]!.id, { message: err.message });
      }
      done += ok.length;
    }
    return done;
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }
}
