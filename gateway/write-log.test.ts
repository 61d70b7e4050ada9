import { afterEach, describe, expect, it } from 'vitest';
import { announceSkip, testBackends } from '../store/testing.js';
import { Hub } from '../stream/index.js';
import { GatewayConfigSchema } from './config.js';
import { Gateway } from './gateway.js';
import {
  freePort,
  inverterProfiles,
  limitSetpoint,
  loopbackInverter,
  RegisterImage,
  startModbusTcp,
} from './testing.js';
import { SetpointWriteRepository } from './write-log.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A battery inverter (limit in W, int16 × 10 at holding 10; a locked register at 11) and a dead device. */
async function setup(port: number, deadPort: number) {
  return GatewayConfigSchema.parse({
    site: 'bern',
    profiles: inverterProfiles({
      locked: { address: 11, writable: true, unit: 'W' },
      status: { address: 12 },
    }),
    devices: [
      loopbackInverter('inv', port, [
        limitSetpoint({ outOfRange: 'clamp', minWriteInterval: '1h' }),
        { id: 'locked', kind: 'setpoint', unit: 'W', writable: true, min: 0, max: 100 },
        { id: 'status', kind: 'status' },
      ]),
      loopbackInverter('gone', deadPort, [limitSetpoint()], { timeoutMs: 300 }),
    ],
  });
}

const ask = (device: string, point: string, value: number, who = 'optimizer') => ({
  device,
  point,
  value,
  who,
  why: 'evening peak',
});

/** The inverter's registers: power limit 1500 W (10), a locked register (11), status (12). */
const inverterImage = () =>
  new RegisterImage().put('holding', 10, [150]).put('holding', 11, [0]).put('holding', 12, [1]);

for (const backend of testBackends) {
  announceSkip(backend, 'setpoint write records');
  // Each test opens an embedded database: slow on a loaded 2-core machine.
  describe.skipIf(backend.skipReason !== null)(
    `setpoint write records on ${backend.name}`,
    { timeout: 120_000 },
    () => {
      /** `img` served on loopback and an empty store, both closed after the test. */
      async function rig(img: RegisterImage) {
        const dev = await startModbusTcp(img);
        cleanups.push(dev.stop);
        const store = await backend.open();
        cleanups.push(() => store.close());
        return { dev, store };
      }

      it('stores every write and refusal with who, why, old and new value and outcome', async () => {
        const img = inverterImage();
        img.onWrite = (address) => {
          if (address === 11) throw { modbusErrorCode: 3, msg: 'locked by the installer' };
        };
        const { dev, store } = await rig(img);
        const log = await SetpointWriteRepository.open(store);
        const cfg = await setup(dev.port, await freePort());
        let now = 1_700_000_000_000;
        const gw = new Gateway(cfg, new Hub(), {
          writeLog: log,
          clock: () => now,
          link: { maxBackoffMs: 1000 },
        });
        cleanups.push(() => gw.stop());

        await gw.write(ask('inv', 'limit', 9000, 'alice')); // clamped to 5000, written
        now += 1000;
        await gw.write(ask('inv', 'limit', 2000)); // rate-limited
        now += 1000;
        await gw.write(ask('inv', 'status', 0)); // not allow-listed
        now += 1000;
        await gw.write(ask('inv', 'locked', 50)); // Modbus exception
        now += 1000;
        await gw.write(ask('gone', 'limit', 100)); // unreachable
        await gw.flushAudit();

        const page = await log.list({ site: 'bern' });
        const stored = page.items.reverse().map(({ id: _id, ...r }) => r);
        expect(stored).toEqual(gw.records);
        expect(stored.map((r) => [r.device, r.point, r.who, r.outcome, r.requested, r.value, r.old])).toEqual(
          [
            ['inv', 'limit', 'alice', 'written', 9000, 5000, 1500],
            ['inv', 'limit', 'optimizer', 'refused', 2000, null, null],
            ['inv', 'status', 'optimizer', 'refused', 0, null, null],
            ['inv', 'locked', 'optimizer', 'rejected', 50, 50, 0],
            ['gone', 'limit', 'optimizer', 'failed', 100, 100, null],
          ],
        );
        expect(stored[0]).toMatchObject({
          clamped: true,
          readBack: 5000,
          why: 'evening peak',
          ts: 1_700_000_000_000,
        });
        expect(stored[1]!.reason).toMatch(/rate-limited/);
        expect(stored[2]!.reason).toMatch(/not writable/);
        expect(stored[3]!.reason).toMatch(/exception/i);
        // The model's refusal codes, stored: callers branch on these, not on the words.
        expect(stored.map((r) => r.refusal)).toEqual([null, 'rate_limited', 'not_writable', null, null]);

        const older = await log.list({ site: 'bern', device: 'inv', point: 'limit', limit: 1, offset: 1 });
        expect(older.items.map((r) => r.outcome)).toEqual(['written']);
        expect(older.nextOffset).toBeNull();
        // A refusal stored before the code existed is classified from its words when read.
        await log.append({ ...stored[1]!, ts: now + 1000, refusal: null } as never);
        const legacy = await store.db.query<{ refusal: string | null }>(
          'SELECT refusal FROM setpoint_writes ORDER BY id DESC LIMIT 1',
        );
        expect(legacy.rows[0]!.refusal).toBeNull();
        expect((await log.list({ site: 'bern', limit: 1 })).items[0]!.refusal).toBe('rate_limited');
        await expect(store.db.query('UPDATE setpoint_writes SET why = $1', ['edited'])).rejects.toThrow(
          /append-only/,
        );
      });

      it('keeps records the store refused and stores them, in order, once it answers again', async () => {
        const img = inverterImage();
        const { dev, store } = await rig(img);
        const repo = await SetpointWriteRepository.open(store);
        let down = false;
        // The real table behind a switch, as the store-outage test does for readings.
        const log = {
          append: (r: Parameters<typeof repo.append>[0]) =>
            down ? Promise.reject(new Error('connection to the store lost')) : repo.append(r),
          lastSent: (site: string) => repo.lastSent(site),
        };
        let now = 1_700_000_000_000;
        const gw = new Gateway(await setup(dev.port, await freePort()), new Hub(), {
          writeLog: log,
          clock: () => now,
        });
        cleanups.push(() => gw.stop());
        await gw.write(ask('inv', 'limit', 1000));
        down = true;
        now += 1000;
        await gw.write(ask('inv', 'limit', 2000)); // rate-limited
        now += 1000;
        await gw.write(ask('inv', 'status', 1)); // not allow-listed
        await expect(gw.flushAudit()).rejects.toThrow(
          /2 write records are not in the write log yet: connection to the store lost/,
        );
        expect((await repo.list({ site: 'bern' })).items).toHaveLength(1);
        down = false;
        now += 1000;
        await gw.write(ask('inv', 'locked', 5));
        await gw.flushAudit();
        const stored = (await repo.list({ site: 'bern' })).items.reverse().map(({ id: _id, ...r }) => r);
        expect(stored).toEqual(gw.records);
        expect(stored.map((r) => r.outcome)).toEqual(['written', 'refused', 'refused', 'written']);
      });

      it('a restarted gateway keeps the rate limit of the writes stored before', async () => {
        const img = inverterImage();
        const { dev, store } = await rig(img);
        const cfg = await setup(dev.port, await freePort());
        let now = 1_700_000_000_000;
        const first = new Gateway(cfg, new Hub(), {
          writeLog: await SetpointWriteRepository.open(store),
          clock: () => now,
        });
        expect((await first.write(ask('inv', 'limit', 1000))).outcome).toBe('written');
        await first.stop();
        await first.flushAudit();

        now += 60_000;
        const second = new Gateway(cfg, new Hub(), {
          writeLog: await SetpointWriteRepository.open(store),
          clock: () => now,
        });
        cleanups.push(() => second.stop());
        const rec = await second.write(ask('inv', 'limit', 2000));
        expect(rec).toMatchObject({ outcome: 'refused', value: null });
        expect(rec.reason).toMatch(/rate-limited: last write 60000 ms ago/);
        await second.flushAudit();
        const page = await (await SetpointWriteRepository.open(store)).list({ site: 'bern' });
        expect(page.items.map((r) => r.outcome)).toEqual(['refused', 'written']);
      });
    },
  );
}
