import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplanWorker, solveReplans, storedReplan } from '../app/uplink.js';
import { MODEL_ERRORS } from '../model/index.js';
import { randomProblem } from '../optimizer/generate.js';
import { optimize, parseProblem, SOLVERS } from '../optimizer/index.js';
import { openStore, type Store } from '../store/index.js';
import { announceSkip, scratchSchema, testBackends } from '../store/testing.js';
import { hourly } from '../testkit/lp-problems.js';
import { postgresUrl } from '../testkit/system.js';
import { UPLINK_ERRORS } from './errors.js';
import { type QueuedReplan, ReplanQueue } from './jobs.js';
import { ReplanStore, type StoredReplan } from './replan-store.js';

const server = postgresUrl();
const schema = `pgboss_t_${randomBytes(4).toString('hex')}`;

const replan = (over: Partial<StoredReplan>): StoredReplan => ({
  site: 'a',
  jobId: 'job-1',
  requestedMs: Date.UTC(2025, 0, 6, 8),
  solvedMs: Date.UTC(2025, 0, 6, 8, 0, 2),
  status: 'optimal',
  objective: 1.25,
  solution: { slotMinutes: 15 },
  ...over,
});

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`stored re-plans on ${backend.name}`, () => {
    announceSkip(backend, 'stored re-plans');
    let store: Store;
    let plans: ReplanStore;
    beforeAll(async () => {
      store = await backend.open();
      plans = await ReplanStore.open(store);
    });
    afterAll(() => store?.close());

    it('a job stored twice keeps its first row; latest is the newest request', async () => {
      expect(
        await plans.save(replan({ solution: { slotMinutes: 15, schedule: { importKw: [1, 2] } } })),
      ).toBe(true);
      expect(await plans.save(replan({ objective: 9, solvedMs: Date.UTC(2025, 0, 6, 8, 20) }))).toBe(false);
      const newer = replan({ jobId: 'job-2', requestedMs: Date.UTC(2025, 0, 6, 8, 15), objective: 0.5 });
      expect(await plans.save(newer)).toBe(true);
      // Solved later, but for an older request: not the site's latest.
      await plans.save(
        replan({
          jobId: 'job-0',
          requestedMs: Date.UTC(2025, 0, 6, 7),
          solvedMs: Date.UTC(2025, 0, 6, 9),
        }),
      );
      await plans.save(replan({ site: 'b', requestedMs: Date.UTC(2025, 0, 6, 9) }));
      expect(await plans.latest('a')).toEqual(newer);
      const rows = await store.db.query<{ objective: number; solution: { schedule?: unknown } }>(
        `SELECT objective, solution FROM uplink_replans WHERE site = 'a' AND job_id = 'job-1'`,
      );
      expect(rows.rows).toEqual([
        { objective: 1.25, solution: { slotMinutes: 15, schedule: { importKw: [1, 2] } } },
      ]);
      expect(await plans.latest('nowhere')).toBeNull();
    });

    it('refuses a re-plan without a job id or with a cost that is not a number', async () => {
      await expect(plans.save(replan({ jobId: '' }))).rejects.toMatchObject({
        code: MODEL_ERRORS.VALIDATION,
      });
      await expect(plans.save(replan({ jobId: 'job-9', objective: Number.NaN }))).rejects.toMatchObject({
        code: MODEL_ERRORS.VALIDATION,
        issues: [expect.objectContaining({ path: 'objective' })],
      });
    });
  });
}

describe('re-plan queue', () => {
  it('refuses the embedded database: pg-boss needs a PostgreSQL server', async () => {
    await expect(ReplanQueue.open({ url: './data' })).rejects.toMatchObject({
      code: UPLINK_ERRORS.queueNeedsPostgres,
    });
  });

  describe.skipIf(server.skipReason)('on PostgreSQL', { timeout: 120_000 }, () => {
    afterAll(async () => {
      const c = new pg.Client({ connectionString: server.url! });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });

    it('repeated requests for a site merge into one waiting job; a worker solves each site once', async () => {
      const q = await ReplanQueue.open({ url: server.url!, schema, queue: 'replan-test' });
      try {
        await q.request([
          { site: 'a', data: { n: 1 } },
          { site: 'b', data: { n: 1 } },
        ]);
        await q.request([{ site: 'a', data: { n: 2 } }]);
        expect(await q.size()).toBe(2);
        const seen: string[] = [];
        const solved = await q.work<{ n: number }>(
          async (jobs) => {
            seen.push(...jobs.map((j) => j.site));
            return jobs.map(() => null);
          },
          { untilEmpty: true, batchSize: 10 },
        );
        expect(solved).toBe(2);
        expect(seen.sort()).toEqual(['a', 'b']);
        expect(await q.size()).toBe(0);
      } finally {
        await q.close();
      }
    });

    it('a job whose worker died is given to another worker once it expires (maintenance in the workers)', async () => {
      const queue = 'replan-dead-worker';
      // The first worker takes the job and dies with it: its handler never answers and its
      // connections are gone, as after kill -9.
      const first = await ReplanQueue.open({ url: server.url!, schema, queue, expireInSeconds: 2 });
      await first.request([{ site: 'a', data: { n: 1 } }]);
      let taken!: () => void;
      const took = new Promise<void>((r) => {
        taken = r;
      });
      void first.work<{ n: number }>(
        () => {
          taken();
          return new Promise(() => undefined);
        },
        { batchSize: 10 },
      );
      await took;
      await first.close();
      // A second worker with maintenance every second: the job expires, is retried, solved once.
      const second = await ReplanQueue.open({ url: server.url!, schema, queue, maintenanceSeconds: 1 });
      try {
        const seen: string[] = [];
        const stop = new AbortController();
        const working = second.work<{ n: number }>(
          async (jobs) => {
            seen.push(...jobs.map((j) => j.site));
            stop.abort();
            return jobs.map(() => null);
          },
          { batchSize: 10, idleMs: 200, signal: stop.signal },
        );
        const limit = setTimeout(() => stop.abort(), 30_000);
        const solved = await working;
        clearTimeout(limit);
        expect(seen).toEqual(['a']);
        expect(solved).toBe(1);
        expect(await second.size()).toBe(0);
      } finally {
        await second.close();
      }
    });

    it("a job submitted under a key of its own waits beside the site's job and is answered through its output", async () => {
      const q = await ReplanQueue.open({ url: server.url!, schema, queue: 'replan-submit-test' });
      try {
        await q.request([{ site: 'a', data: { n: 1 } }]);
        const ids = [
          await q.submit({ site: 'a', kind: 'echo', data: { n: 2 } }, { key: 'echo:a:1', priority: 10 }),
          await q.submit({ site: 'a', kind: 'echo', data: { n: 3 } }, { key: 'echo:a:2', priority: 10 }),
        ];
        // The site's own key is taken by its waiting job: a second one there is refused, named.
        await expect(q.submit({ site: 'a', data: { n: 4 } }, { key: 'a' })).rejects.toMatchObject({
          code: UPLINK_ERRORS.jobRefused,
        });
        expect(await q.size()).toBe(3);
        const order: string[] = [];
        await q.work<{ n: number }>(
          async (jobs) => {
            order.push(...jobs.map((j) => `${j.kind ?? 'fleet'} ${j.data.n}`));
            return jobs.map((j) => (j.kind === 'echo' ? { output: { twice: j.data.n * 2 } } : null));
          },
          { untilEmpty: true, batchSize: 1 },
        );
        // Higher priority first: the submitted jobs before the fleet's.
        expect(order).toEqual(['echo 2', 'echo 3', 'fleet 1']);
        expect(await q.job(ids[0]!)).toEqual({ state: 'completed', output: { twice: 4 } });
        await q.remove(ids[0]!);
        expect(await q.job(ids[0]!)).toBeNull();
        expect((await q.job(ids[1]!))?.output).toEqual({ twice: 6 });
      } finally {
        await q.close();
      }
    });

    describe('the worker stores each plan', () => {
      const queue = 'replan-store-test';
      const problems = {
        a: randomProblem(11, { assets: 3 }),
        b: randomProblem(12, { assets: 4, peakChargePerKw: 0.1 }),
        c: randomProblem(13, { assets: 5, negativeExport: true }),
      };
      // 10 kW of load and 1 kW of import allowed: no plan exists.
      const infeasible = hourly(4, { baseLoadKw: [10, 10, 10, 10], grid: { importLimitKw: 1 } });
      let scratch: Awaited<ReturnType<typeof scratchSchema>>;
      let store: Store;
      let plans: ReplanStore;
      let q: ReplanQueue;
      beforeAll(async () => {
        scratch = await scratchSchema(server.url!);
        q = await ReplanQueue.open({ url: server.url!, schema, queue });
      });
      afterAll(async () => {
        await q?.close();
        await store?.close();
        await scratch?.drop();
      });

      it('one row per site, each with the objective of the same problem solved here', async () => {
        await q.request([
          ...Object.entries(problems).map(([site, data]) => ({ site, data })),
          { site: 'd', data: infeasible },
        ]);
        const said: string[] = [];
        const solved = await runReplanWorker(
          { url: scratch.url, schema, queue, untilEmpty: true, batchSize: 2 },
          (r) => said.push(`${r.site} ${r.status} ${r.stored}`),
        );
        expect(solved).toBe(4);
        expect(said.sort()).toEqual([
          'a optimal true',
          'b optimal true',
          'c optimal true',
          'd infeasible true',
        ]);

        store = await openStore({ url: scratch.url, timescale: 'off' });
        plans = await ReplanStore.open(store);
        const counts = await store.db.query<{ site: string; n: number }>(
          'SELECT site, count(*)::int AS n FROM uplink_replans GROUP BY site ORDER BY site',
        );
        expect(counts.rows).toEqual(['a', 'b', 'c', 'd'].map((site) => ({ site, n: 1 })));
        for (const [site, data] of Object.entries(problems)) {
          const p = parseProblem(data);
          const here = await optimize(p, SOLVERS.highs);
          const row = (await plans.latest(site))!;
          expect(row.status).toBe('optimal');
          expect(row.objective).toBe(here.objective);
          expect(row.solution).toMatchObject({ slotMinutes: 15, baselineCost: here.baselineCost });
          const assets = (row.solution as { schedule: { assets: Record<string, unknown> } }).schedule.assets;
          expect(Object.keys(assets).sort()).toEqual(p.assets.map((a) => a.id).sort());
          expect(row.requestedMs).toBeLessThanOrEqual(row.solvedMs);
        }
        const none = (await plans.latest('d'))!;
        expect(none).toMatchObject({ status: 'infeasible', objective: null, solution: { schedule: null } });
        expect((none.solution as { message: string }).message).toMatch(/^no feasible plan/);
        expect(await q.size()).toBe(0);
      });

      it('a job delivered again after its worker died having stored it adds no row', async () => {
        await q.request([{ site: 'a', data: problems.a }]);
        const deliveries: { id: string; stored: boolean | undefined }[] = [];
        const solved = await q.work<unknown>(
          async (jobs: QueuedReplan<unknown>[]) => {
            const outcomes = await solveReplans(jobs, {
              store: (job, p, r) => plans.save(storedReplan(job, p, r, Date.now())),
              onSolved: (o) => deliveries.push({ id: jobs[0]!.id, stored: o.stored }),
            });
            // The first delivery "dies" after storing: the job is not completed and comes back.
            return deliveries.length === 1
              ? jobs.map(() => new Error('worker killed after storing'))
              : outcomes;
          },
          { untilEmpty: true, batchSize: 1 },
        );
        expect(solved).toBe(1);
        expect(deliveries).toHaveLength(2);
        expect(deliveries[1]!.id).toBe(deliveries[0]!.id);
        expect(deliveries.map((d) => d.stored)).toEqual([true, false]);
        const rows = await store.db.query<{ job_id: string }>(
          `SELECT job_id FROM uplink_replans WHERE site = 'a' ORDER BY requested_at`,
        );
        // The first run's job and this one, once.
        expect(rows.rows).toHaveLength(2);
        expect(rows.rows[1]!.job_id).toBe(deliveries[0]!.id);
        expect((await plans.latest('a'))!.jobId).toBe(deliveries[0]!.id);
        expect(await q.size()).toBe(0);
      });
    });
  });
});
