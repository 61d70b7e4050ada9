import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startCli } from '../cli/testing.js';
import { buildLp } from '../optimizer/build.js';
import { OPT_ERRORS } from '../optimizer/errors.js';
import { randomProblem } from '../optimizer/generate.js';
import { optimize, parseProblem, SolveWorker, sitePlanner, workerSolver } from '../optimizer/index.js';
import { startLiveOptimizer } from '../optimizer/live-runtime.js';
import { PlanRepository } from '../optimizer/plan-store.js';
import { LIVE_WRITES_SITE, nextEvent, zevBernBatteryGateway } from '../optimizer/testing.js';
import { openStore } from '../store/index.js';
import { hourly } from '../testkit/lp-problems.js';
import { postgresUrl } from '../testkit/system.js';
import { until } from '../testkit/wait.js';
import { ReplanQueue } from '../uplink/index.js';
import { APP_ERRORS } from './errors.js';
import { QueueSolver } from './queue-solver.js';
import { type ReplanOutcome, workReplans } from './uplink.js';

const server = postgresUrl();
if (server.skipReason) console.warn(`[skip] the queue solver on PostgreSQL: ${server.skipReason}`);
const schema = `pgboss_t_${randomBytes(4).toString('hex')}`;

/** A five-asset site's LP, as the live loop builds it. */
const siteProblem = parseProblem(randomProblem(5, { assets: 5 }));
// 10 kW of load and 1 kW of import allowed: no plan exists.
const infeasible = parseProblem(hourly(4, { baseLoadKw: [10, 10, 10, 10], grid: { importLimitKw: 1 } }));

const never = new AbortController().signal;

describe.skipIf(server.skipReason)(
  'the live optimiser solving through the job queue',
  { timeout: 120_000 },
  () => {
    const open: { close(): Promise<unknown> }[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    let n = 0;
    /** Central's solver and the queue a worker would fetch from, on a queue of the test's own. */
    const queuePair = async (o: { budgetMs?: number } = {}) => {
      const queue = `lp-test-${n++}`;
      const worker = await ReplanQueue.open({ url: server.url!, schema, queue });
      open.push(worker);
      const solver = await QueueSolver.open({ url: server.url!, schema, queue, ...o });
      open.push(solver);
      return { solver, worker };
    };
    /** The queue's jobs in any state: a solve leaves none behind. */
    const rowsOf = async (queue: ReplanQueue) => {
      const c = new pg.Client({ connectionString: server.url! });
      await c.connect();
      try {
        const r = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1`,
          [queue.queue],
        );
        return r.rows[0]!.n;
      } finally {
        await c.end();
      }
    };
    /** An in-process `gridflex worker` loop on `queue` until the test ends; what it solved. */
    const workerLoop = (queue: ReplanQueue) => {
      const stop = new AbortController();
      const solved: ReplanOutcome[] = [];
      const running = workReplans(queue, { signal: stop.signal, idleMs: 50 }, (r) => solved.push(r));
      stops.push(async () => {
        stop.abort();
        await running;
      });
      return solved;
    };

    afterEach(async () => {
      for (const stop of stops.splice(0).reverse()) await stop();
      for (const o of open.splice(0).reverse()) await o.close();
    });
    afterAll(async () => {
      const c = new pg.Client({ connectionString: server.url! });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });

    it('a worker gives the solution the solver thread gives, as a model and as a site plan', async () => {
      const { solver, worker } = await queuePair();
      const solved = workerLoop(worker);
      const thread = new SolveWorker();
      open.push(thread);
      const { lp } = buildLp(siteProblem);
      const here = await thread.solve(lp, 'highs');
      const queued = await solver.solve(lp, 'highs', { site: 'a' });
      expect(queued.status).toBe('optimal');
      expect(queued.objective).toBe(here.objective);
      expect(queued.x).toEqual(here.x);
      expect(queued.rowDual).toEqual(here.rowDual);
      // The live loop's planner on either: the same plan (the thread warm-starts per site, the
      // worker solves cold: the same optimum).
      const plan = (w: Parameters<typeof sitePlanner>[0]['worker']) =>
        sitePlanner({ worker: w, site: 'a', stabilityPenaltyPerKwh: 0.005 })(
          { slot: 0, problem: siteProblem },
          null,
          never,
        );
      const [onThread, onWorker] = [await plan(thread), await plan(solver)];
      expect(onWorker.status).toBe('optimal');
      expect(onWorker.objective).toBeCloseTo(onThread.objective!, 9);
      expect(onWorker.schedule).toEqual(onThread.schedule);
      // An infeasible site is diagnosed as on the thread: every solve of the diagnosis is a job.
      const diagnosed = await optimize(infeasible, workerSolver(solver, 'highs', never, 'b'));
      const onThreadToo = await optimize(infeasible, workerSolver(thread, 'highs', never, 'b'));
      expect(diagnosed.status).toBe('infeasible');
      expect(diagnosed.message).toBe(onThreadToo.message);
      expect(solved.every((r) => r.kind === 'lp')).toBe(true);
      expect(solved.length).toBeGreaterThanOrEqual(4);
      expect(await rowsOf(worker)).toBe(0);
    });

    it("a site's LP job waits beside its fleet job, neither merged nor refused, and is solved first", async () => {
      const { solver, worker } = await queuePair();
      await worker.request([{ site: 'a', data: randomProblem(6, { assets: 3 }) }]);
      const queued = solver.solve(buildLp(siteProblem).lp, 'highs', { site: 'a' });
      await until('both jobs waiting', async () => (await worker.size()) === 2, 10_000);
      const solved = workerLoop(worker);
      expect((await queued).status).toBe('optimal');
      await until('both jobs solved', () => solved.length === 2, 30_000);
      expect(solved.map((r) => `${r.site} ${r.kind} ${r.status}`)).toEqual([
        'a lp optimal',
        'a problem optimal',
      ]);
    });

    it('with no worker running, a solve rejects after its budget saying no worker took it, and leaves no job', async () => {
      const { solver, worker } = await queuePair({ budgetMs: 1_500 });
      const started = performance.now();
      await expect(solver.solve(buildLp(siteProblem).lp, 'highs', { site: 'a' })).rejects.toMatchObject({
        code: APP_ERRORS.queueSolveTimeout,
        message:
          'no gridflex worker took the LP of a within the 1500 ms budget: is one running on this database?',
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_500);
      expect(await rowsOf(worker)).toBe(0);
      // A newer plan's abort: rejected as cancelled, its job withdrawn too.
      const abort = new AbortController();
      const aborted = solver.solve(buildLp(siteProblem).lp, 'highs', { site: 'a', signal: abort.signal });
      setTimeout(() => abort.abort(), 200);
      await expect(aborted).rejects.toMatchObject({ code: OPT_ERRORS.cancelled });
      expect(await rowsOf(worker)).toBe(0);
    });

    it('a worker that takes the LP and does not answer in time is named; a malformed LP is refused naming the field', async () => {
      const { solver, worker } = await queuePair({ budgetMs: 1_000 });
      const stop = new AbortController();
      const stuck = worker.work(
        async (jobs) => {
          await new Promise((r) => setTimeout(r, 1_500));
          return jobs.map(() => null);
        },
        { signal: stop.signal, idleMs: 50 },
      );
      stops.push(async () => {
        stop.abort();
        await stuck;
      });
      await expect(solver.solve(buildLp(siteProblem).lp, 'highs', { site: 'a' })).rejects.toMatchObject({
        code: APP_ERRORS.queueSolveTimeout,
        message: 'a gridflex worker took the LP of a but did not answer within the 1000 ms budget',
      });
      stop.abort();
      await stuck;
      workerLoop(worker);
      const lp = buildLp(siteProblem).lp;
      const bad = { ...lp, indices: lp.indices.map(() => lp.numCols) };
      await expect(solver.solve(bad, 'highs', { site: 'a' })).rejects.toMatchObject({
        code: APP_ERRORS.queueSolveFailed,
        message: `gridflex worker could not solve the LP of a: the LP job of a is invalid: lp.indices[0]: column ${lp.numCols} of ${lp.numCols}`,
      });
    });

    it('startLiveOptimizer plans the zev-bern simulator through a `gridflex worker` process', async () => {
      // The worker process uses the default queue and pg-boss schema: a database of this test's own.
      const db = `gfx_t_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: server.url! });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      stops.push(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.end();
      });
      const url = new URL(server.url!);
      url.pathname = `/${db}`;
      const workerProcess = await startCli(['worker'], /waiting for jobs/, { DATABASE_URL: url.toString() });
      stops.push(() => workerProcess.stop());
      const solver = await QueueSolver.open({ url: url.toString() });
      open.push(solver);

      const cleanup: (() => Promise<void>)[] = [];
      stops.push(async () => {
        for (const c of cleanup.reverse()) await c();
      });
      // The simulation's clock at the wall clock's: the loop's clock is the wall clock.
      const { hub, gw } = await zevBernBatteryGateway(cleanup, { startMs: Date.now(), settleS: 10 });
      const store = await openStore({ dataDir: 'memory://' });
      cleanup.push(() => store.close());
      const optimizer = await startLiveOptimizer({
        site: LIVE_WRITES_SITE,
        readings$: hub.readings$,
        store,
        write: (r) => gw.write(r),
        meanLoadKw: 6,
        solver,
      });
      cleanup.push(() => optimizer.stop());
      const planned = nextEvent(optimizer.loop)('plan');
      expect((await gw.pollOnce()).errors).toEqual([]);
      const e = await planned;
      expect(e.plan.source).toBe('solved');
      expect(e.plan.result?.status).toBe('optimal');
      expect((await new PlanRepository(store.db).latest('zev-bern'))?.source).toBe('solved');
      await until(
        () => `the worker saying it answered:\n${workerProcess.output()}`,
        () => /zev-bern: live LP optimal, answered to central/.test(workerProcess.output()),
        30_000,
      );
      // The loop's own stop leaves the injected solver open: it is the caller's.
      await optimizer.stop();
      const again = await solver.solve(buildLp(siteProblem).lp, 'highs', { site: 'zev-bern' });
      expect(again.status).toBe('optimal');
    });
  },
);
