import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GridflexError, parseOrThrow } from '../model/index.js';
import { OPT_ERRORS } from '../optimizer/errors.js';
import { type LpModel, type LpSolution, SOLVERS, type SolverName } from '../optimizer/index.js';
import {
  LpFromWireSchema,
  type LpSolutionWire,
  lpToWire,
  SolveOptionsWireSchema,
  SolverNameSchema,
  solutionFromWireSchema,
  solutionToWire,
  solveOptionsToWire,
} from '../optimizer/lp-wire.js';
import type { LpSolveService, WorkerSolveOptions } from '../optimizer/pool.js';
import { ReplanQueue } from '../uplink/index.js';
import { APP_ERRORS } from './errors.js';

/**
 * The live optimiser's LPs solved by `gridflex worker` processes through the re-plan queue
 * (`uplink.workers`): central builds each site's LP as it does for its own thread, sends it as
 * a job of kind `lp`, and waits for the worker's answer (the job's output). Joins uplink's
 * queue with the optimiser's model, so it lives in the composition root.
 */

/** The `kind` of an LP-solve job on the re-plan queue (the fleet's jobs have none: a whole problem). */
export const LP_JOB_KIND = 'lp';

/** An LP-solve job's data, as the worker reads it: the model comes out ready for a solver. */
export const LpJobSchema = z.strictObject({
  solver: SolverNameSchema,
  options: SolveOptionsWireSchema,
  lp: LpFromWireSchema,
});

/** Priority of LP jobs over the fleet's (0): a live loop waits for its answer. */
const LP_JOB_PRIORITY = 10;

/**
 * The worker's half: one LP job solved on this thread by the solver the job names, the same
 * function a `SolveWorker` thread runs for a model without a site (`SOLVERS`; a cold solve: the
 * thread's warm start per site is not kept here, since a site's next job may go to any worker).
 * Throws `ValidationError` naming the field when the job is malformed.
 */
export async function solveLpJob(
  data: unknown,
  site: string,
): Promise<{ solution: LpSolution; output: LpSolutionWire }> {
  const job = parseOrThrow(LpJobSchema, data, `the LP job of ${site}`);
  const solution = await SOLVERS[job.solver].solve(job.lp, job.options);
  return { solution, output: solutionToWire(solution) };
}

export interface QueueSolverOptions {
  /** How long a solve waits for its answer before it rejects (default 20 s, the live loop's budget). */
  budgetMs?: number;
  /** How often a waiting solve reads its job (default 100 ms). */
  pollMs?: number;
}

/**
 * An `LpSolveService` over the re-plan queue: `solve` sends the LP as a job of kind `lp` and
 * reads the job every `pollMs` until a worker completed it (its output is the solution), it
 * failed, or `budgetMs` passed; on a timeout, an abort or a failure it rejects (a live loop
 * then keeps its previous plan) and withdraws the job. Each job has a singleton key of its own
 * (`lp:<site>:<uuid>`), so it is never merged with the site's fleet job (key `<site>`) nor
 * blocked behind a job a crashed central left running; one job per site is in the queue at a
 * time because a site's next job is sent only once its previous one was withdrawn. LP jobs
 * are fetched before fleet jobs (priority 10), not retried (a live loop re-plans anyway), and
 * solved within the budget (`timeLimitS`).
 */
export class QueueSolver implements LpSolveService {
  private readonly stopping = new AbortController();
  /** Per site: its last solve settled, its job withdrawn if unanswered; the next one waits for it. */
  private readonly lastOfSite = new Map<string, Promise<void>>();

  constructor(
    private readonly queue: ReplanQueue,
    private readonly o: QueueSolverOptions & { ownsQueue?: boolean } = {},
  ) {}

  /** On its own queue connection (closed with it). */
  static async open(
    o: QueueSolverOptions & { url: string; schema?: string; queue?: string },
  ): Promise<QueueSolver> {
    const queue = await ReplanQueue.open({
      url: o.url,
      ...(o.schema ? { schema: o.schema } : {}),
      ...(o.queue ? { queue: o.queue } : {}),
      max: 2,
    });
    return new QueueSolver(queue, { ...o, ownsQueue: true });
  }

  solve(lp: LpModel, solver: SolverName, options: WorkerSolveOptions = {}): Promise<LpSolution> {
    const site = options.site ?? 'lp';
    const run = (this.lastOfSite.get(site) ?? Promise.resolve()).then(() => this.run(lp, solver, options));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.lastOfSite.set(site, settled);
    void settled.then(() => {
      if (this.lastOfSite.get(site) === settled) this.lastOfSite.delete(site);
    });
    return run;
  }

  private async run(lp: LpModel, solver: SolverName, options: WorkerSolveOptions): Promise<LpSolution> {
    const { signal, budgetMs, site = 'lp', ...solveOptions } = options;
    const budget = budgetMs ?? this.o.budgetMs ?? 20_000;
    const started = performance.now();
    const stop = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    if (stop.aborted) throw this.cancelled();
    const timeLimitS = Math.min(solveOptions.timeLimitS ?? Number.POSITIVE_INFINITY, budget / 1000);
    const id = await this.queue.submit(
      {
        site,
        kind: LP_JOB_KIND,
        data: { solver, options: solveOptionsToWire({ ...solveOptions, timeLimitS }), lp: lpToWire(lp) },
      },
      {
        key: `lp:${site}:${randomUUID()}`,
        priority: LP_JOB_PRIORITY,
        retryLimit: 0,
        expireInSeconds: Math.max(1, Math.ceil(budget / 1000)),
      },
    );
    try {
      for (;;) {
        if (stop.aborted) throw this.cancelled();
        const job = await this.queue.job(id);
        if (job === null) throw failed(`the LP job of ${site} is no longer in the queue (deleted)`);
        if (job.state === 'completed')
          return parseOrThrow(
            solutionFromWireSchema(lp),
            job.output,
            `the worker's answer to the LP of ${site}`,
            APP_ERRORS.queueSolveFailed,
          );
        if (job.state === 'failed' || job.state === 'cancelled') {
          const why = (job.output as { message?: unknown } | null)?.message;
          throw failed(
            job.state === 'failed'
              ? `gridflex worker could not solve the LP of ${site}: ${typeof why === 'string' ? why : 'no reason given'}`
              : `the LP job of ${site} was cancelled in the queue`,
          );
        }
        const left = budget - (performance.now() - started);
        if (left <= 0)
          throw new GridflexError(
            APP_ERRORS.queueSolveTimeout,
            job.state === 'active'
              ? `a gridflex worker took the LP of ${site} but did not answer within the ${budget} ms budget`
              : `no gridflex worker took the LP of ${site} within the ${budget} ms budget: is one running on this database?`,
            { kind: 'unavailable', details: { site, jobId: id, state: job.state } },
          );
        await pause(Math.min(this.o.pollMs ?? 100, left), stop);
      }
    } finally {
      // Answered or not, the job leaves the queue before the solve settles: no worker spends
      // time on one nobody waits for, no row piles up, and the site's next job is sent only
      // after this one is gone.
      await this.queue.remove(id).catch(() => {});
    }
  }

  /** Stops waiting (pending solves reject), withdraws their jobs, and closes its own queue connection. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.lastOfSite.values());
    if (this.o.ownsQueue) await this.queue.close();
  }

  private cancelled(): GridflexError {
    return this.stopping.signal.aborted
      ? new GridflexError(
          OPT_ERRORS.threadStopped,
          'the queue solver was closed before this solve was answered',
          {
            kind: 'unavailable',
          },
        )
      : new GridflexError(OPT_ERRORS.cancelled, 'the solve was cancelled by a newer plan', {
          kind: 'conflict',
        });
  }
}

function failed(message: string): GridflexError {
  return new GridflexError(APP_ERRORS.queueSolveFailed, message, { kind: 'internal' });
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
