import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startCli } from '../cli/testing.js';
import { listPoints, type Reading } from '../model/index.js';
import { announceSkip, scratchBehindOutageProxy, testBackends } from '../store/testing.js';
import { DiskQueue, Hub, StoreWriter } from '../stream/index.js';
import { postgresUrl } from '../testkit/system.js';
import { GatewayConfigSchema, gatewaySite } from './config.js';
import { Gateway } from './gateway.js';
import { sdm630Image, startModbusTcp } from './testing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of testBackends) {
  announceSkip(backend, 'gateway store outage');
  describe.skipIf(backend.skipReason !== null)(
    `gateway readings across a store outage on ${backend.name}`,
    () => {
      it('stores every published reading exactly once after the store comes back', async () => {
        const dev = await startModbusTcp(sdm630Image());
        const store = await backend.open();
        const spool = await mkdtemp(join(tmpdir(), 'gfx-gw-spool-'));
        try {
          const cfg = GatewayConfigSchema.parse({
            site: 'bern',
            devices: [
              {
                id: 'meter',
                protocol: 'modbus',
                profile: 'sdm630',
                pollInterval: '50ms',
                connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
                points: [
                  { id: 'power', kind: 'active_power' },
                  { id: 'voltage_l1', kind: 'voltage' },
                  { id: 'energy_import', kind: 'energy_import' },
                ],
              },
            ],
          });
          await store.readings.describePoints(listPoints([gatewaySite(cfg)]));
          const hub = new Hub();
          const published: Reading[] = [];
          hub.readings$.subscribe((r) => published.push(r));
          let down = false;
          let refused = 0;
          const sink = {
            ingest: (batch: readonly Reading[]) => {
              if (!down) return store.readings.ingest(batch);
              refused += 1;
              return Promise.reject(new Error('connection to the store lost'));
            },
          };
          const disk = await DiskQueue.open(spool);
          const writer = new StoreWriter(sink, {
            disk,
            maxDelayMs: 25,
            minRetryMs: 25,
            maxRetryMs: 100,
          }).start(hub.readings$);
          const gw = new Gateway(cfg, hub);
          gw.start();
          await sleep(300);
          down = true;
          await sleep(500);
          down = false;
          await sleep(300);
          await gw.stop();
          hub.close();
          const status = await writer.stop();

          expect(refused).toBeGreaterThan(0);
          expect(status.spilled).toBeGreaterThan(0);
          expect(status.dropped).toBe(0);
          expect(published.length).toBeGreaterThan(30);
          let stored = 0;
          for (const key of ['power', 'voltage_l1', 'energy_import']) {
            const pointId = `bern/meter/${key}`;
            const mine = published.filter((r) => r.pointId === pointId);
            const n = await store.readings.count(pointId);
            expect(n).toBe(mine.length);
            stored += n;
          }
          expect(stored).toBe(published.length);
          expect(status.stored).toBe(published.length);
        } finally {
          await store.close();
          await dev.stop();
          await rm(spool, { recursive: true, force: true });
        }
      }, 120_000);
    },
  );
}

const server = postgresUrl();

/** Stored timestamps of one point, oldest first. */
async function storedTs(url: string, key: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c
      .query<{ t: number }>(
        `SELECT (extract(epoch FROM r.ts) * 1000)::float8 AS t FROM readings r
         JOIN points p ON p.id = r.point_id WHERE p.key = $1 ORDER BY r.ts`,
        [key],
      )
      .catch(() => ({ rows: [] as { t: number }[] }));
    return res.rows.map((r) => r.t);
  } finally {
    await c.end();
  }
}

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms: ${what}`);
    await sleep(200);
  }
}

/**
 * Bound one step of the kill -9 test: on timeout the error names the step, the time since the
 * test began and what the gateway processes printed, so a slow CI run says where it stood.
 */
function stepper(began: number, outputs: () => string) {
  return async <T>(what: string, ms: number, work: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `step '${what}' not done in ${ms} ms (${Date.now() - began} ms into the test)\n${outputs()}`,
            ),
          ),
        ms,
      );
    });
    try {
      const value = await Promise.race([work(), expired]);
      console.log(`[store-outage] ${what}: done ${Date.now() - began} ms into the test`);
      return value;
    } finally {
      clearTimeout(timer);
    }
  };
}

const maxGap = (ts: number[]) => ts.slice(1).reduce((m, t, i) => Math.max(m, t - ts[i]!), 0);

if (server.skipReason) console.warn(`[skip] gateway kill -9 on postgres: ${server.skipReason}`);
describe.skipIf(server.skipReason !== null)('gateway process across a PostgreSQL outage', () => {
  // One retry: this test timed out once in CI (300 s, the shared machine loaded, cause not
  // found; 12 s here and in a full local gate). Its steps are bounded and named, so a failure
  // says where it stood, and a second failure in a row still fails the gate.
  it('loses at most about a second of readings to kill -9 mid-outage, and starts and spools while the store is down', {
    timeout: 360_000,
    retry: 1,
  }, async () => {
    const dev = await startModbusTcp(sdm630Image());
    const { url: viaProxy, scratch, proxy } = await scratchBehindOutageProxy(server.url!);
    const data = await mkdtemp(join(tmpdir(), 'gfx-gw-kill-'));
    const config = join(data, 'gateway.json');
    await writeFile(
      config,
      JSON.stringify({
        site: 'bern',
        devices: [
          {
            id: 'meter',
            protocol: 'modbus',
            profile: 'sdm630',
            pollInterval: '100ms',
            connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
            points: [
              { id: 'power', kind: 'active_power' },
              { id: 'voltage_l1', kind: 'voltage' },
            ],
          },
        ],
      }),
    );
    const args = ['gateway', '--config', config, '--data', data];
    const env = { DATABASE_URL: viaProxy };
    const key = 'bern/meter/power';
    const running = /Gridflex gateway is running/;
    const children: { child: import('node:child_process').ChildProcess; output: () => string }[] = [];
    const step = stepper(Date.now(), () =>
      children.map((c, i) => `--- gateway run ${i + 1}:\n${c.output()}`).join('\n'),
    );
    try {
      const first = await step('first gateway ready', 90_000, () => startCli(args, running, env, 90_000));
      children.push(first);
      await step('first readings stored', 60_000, () =>
        until(async () => (await storedTs(scratch.url, key)).length >= 5, 60_000, 'first readings stored'),
      );

      // The store goes away; four seconds into the outage the gateway is killed.
      proxy.cut();
      const cutAt = Date.now();
      await sleep(4000);
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      await step(
        'first gateway gone after kill -9',
        10_000,
        () =>
          new Promise((r) =>
            first.child.exitCode !== null || first.child.signalCode !== null
              ? r(null)
              : first.child.once('close', r),
          ),
      );

      // Started again while the store is still down: it must run, poll and spool.
      const second = await step('second gateway ready while the store is down', 90_000, () =>
        startCli(args, running, env, 90_000),
      );
      children.push(second);
      const startedAt = Date.now();
      await sleep(2000);
      proxy.restore();
      const restoredAt = Date.now();
      await step('live readings stored after the outage', 60_000, () =>
        until(
          async () => (await storedTs(scratch.url, key)).some((t) => t > restoredAt + 1000),
          60_000,
          'live readings stored after the outage',
        ),
      );
      expect(await step('second gateway stopped by SIGINT', 30_000, () => second.stop())).toBe(0);
      expect(second.output()).toMatch(/stopped: .* 0 spooled/);

      const ts = await storedTs(scratch.url, key);
      // Run 1: everything up to about a second before the kill, outage included, is stored.
      const beforeKill = ts.filter((t) => t < killedAt);
      const lost = killedAt - beforeKill.at(-1)!;
      expect(lost).toBeLessThanOrEqual(2000);
      expect(maxGap(beforeKill.filter((t) => t >= cutAt - 2000))).toBeLessThan(1000);
      // Run 2: readings polled while the store was down at start are stored too, without gaps.
      const secondRun = ts.filter((t) => t > killedAt);
      expect(secondRun.filter((t) => t < restoredAt).length).toBeGreaterThan(0);
      expect(secondRun[0]!).toBeLessThan(startedAt + 1000);
      expect(maxGap(secondRun)).toBeLessThan(1000);
    } finally {
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
      await proxy.close();
      await dev.stop();
      await scratch.drop();
      await rm(data, { recursive: true, force: true });
    }
  });
});
