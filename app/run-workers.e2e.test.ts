import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli, startCli } from '../cli/testing.js';
import { packageRoot } from '../config/version.js';
import type { RunningSimulator } from '../sim/runner.js';
import { freePortPair } from '../sim/testing.js';
import { startZevBernSimulator } from '../testkit/simulator.js';
import { postgresUrl } from '../testkit/system.js';
import { until } from '../testkit/wait.js';
import { brokerSkipReason, SHARED_BROKER } from '../uplink/testing.js';

/**
 * Issue #14, central's own sites on worker processes: `gridflex run` with `uplink.workers`
 * polls the zev-bern simulator itself, and its live optimiser's LPs are solved by a
 * `gridflex worker` process through the job queue in PostgreSQL (a database of the test's own:
 * both processes use the default queue and pg-boss schema).
 */

const server = postgresUrl();
if (server.skipReason) console.warn(`[skip] gridflex run with uplink.workers: ${server.skipReason}`);
const skip = server.skipReason ?? (await brokerSkipReason());
type Json = Record<string, unknown>;

describe.skipIf(skip)(
  'gridflex run with uplink.workers: the live optimiser solves on a worker process',
  () => {
    let dir: string;
    let sim: RunningSimulator;
    let worker: Awaited<ReturnType<typeof startCli>>;
    let central: Awaited<ReturnType<typeof startCli>>;
    let admin: pg.Client;
    const db = `gfx_t_${randomBytes(4).toString('hex')}`;
    let url: string;
    let config: Json;

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: server.url! });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      const u = new URL(server.url!);
      u.pathname = `/${db}`;
      url = u.toString();
      dir = await mkdtemp(join(tmpdir(), 'gfx-run-workers-'));
      const port = await freePortPair();
      sim = await startZevBernSimulator({ pkiDir: join(dir, 'sim-pki'), portBase: port });
      const example = (await readFile(`${packageRoot()}/deploy/examples/gridflex.yaml`, 'utf8'))
        .replaceAll('port: 5020', `port: ${port}`)
        .replaceAll('127.0.0.1:5021', `127.0.0.1:${port + 1}`);
      config = parse(example) as Json;
      config.listen = { host: '127.0.0.1', port: 0 };
      config.ledger = { communities: [] };
      // A tenant of its own: central consumes no other test's telemetry from the shared broker.
      config.uplink = { broker: SHARED_BROKER, tenant: `w${randomBytes(3).toString('hex')}`, workers: true };
      await writeFile(join(dir, 'gridflex.yaml'), stringify(config));
      worker = await startCli(['worker'], /waiting for jobs/, { DATABASE_URL: url }, 120_000);
      central = await startCli(
        ['run', '--config', join(dir, 'gridflex.yaml'), '--data', join(dir, 'data')],
        /running at (http:\/\/\S+)[\s\S]*Press Ctrl-C/,
        { DATABASE_URL: url, GRIDFLEX_ADMIN_PASSWORD: 'run-workers-admin' },
        150_000,
      );
    }, 300_000);

    afterAll(async () => {
      await central?.stop().catch(() => {});
      await worker?.stop().catch(() => {});
      await sim?.stop().catch(() => {});
      if (dir) await rm(dir, { recursive: true, force: true });
      await admin?.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin?.end();
    });

    it("central's first plan is solved by the worker process and stored", async () => {
      expect(central.output()).toContain('optimizer: solving on gridflex worker processes');
      await until(
        () =>
          `the worker to answer zev-bern's LP\nworker:\n${worker.output()}\ncentral:\n${central.output()}`,
        () => /zev-bern: live LP optimal, answered to central/.test(worker.output()),
        120_000,
      );
      await until(
        () => `central's first plan\n${central.output().slice(-800)}`,
        () => /optimizer: zev-bern: first plan, saving/.test(central.output()),
        60_000,
      );
      // The plan central stored is a solved one (no thread of its own solved it: it has none).
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const rows = await c.query<{ source: string }>(
          `SELECT source FROM optimizer_plans WHERE site = 'zev-bern' ORDER BY id DESC LIMIT 1`,
        );
        expect(rows.rows).toEqual([{ source: 'solved' }]);
      } finally {
        await c.end();
      }
    }, 240_000);

    it('refuses uplink.workers on the embedded database, naming the field', async () => {
      await writeFile(join(dir, 'embedded.yaml'), stringify({ ...config, database: {} }));
      const r = await runCli(
        ['run', '--config', join(dir, 'embedded.yaml'), '--data', join(dir, 'embedded')],
        {
          DATABASE_URL: '',
        },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /uplink\.workers: solving on gridflex worker processes needs a PostgreSQL server/,
      );
    });
  },
);
