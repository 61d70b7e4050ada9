import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresUrl } from '../testkit/system.js';
import { UPLINK_ERRORS } from './errors.js';
import { ReplanQueue } from './jobs.js';

const server = postgresUrl();
const schema = `pgboss_t_${randomBytes(4).toString('hex')}`;

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
  });
});
