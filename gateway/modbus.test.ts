import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing.js';
import type { Reading } from '../model/index.js';
import { Hub } from '../stream/index.js';
import { type GatewayConfig, GatewayConfigSchema } from './config.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { DeviceUnreachableError, ModbusLink } from './modbus-link.js';
import { discoverSunSpec } from './sunspec.js';
import {
  freePort,
  RegisterImage,
  sdm630Image,
  startModbusTcp,
  startRtuOverTcp,
  type TestDevice,
} from './testing.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(dev: Promise<TestDevice>): Promise<TestDevice> {
  const d = await dev;
  cleanups.push(d.stop);
  return d;
}

function gateway(cfg: unknown): Gateway {
  const g = new Gateway(GatewayConfigSchema.parse(cfg) as GatewayConfig, new Hub(), {
    link: { minBackoffMs: 50, maxBackoffMs: 200 },
  });
  cleanups.push(() => g.stop());
  return g;
}

/** A gateway on `cfg` (stopped after the test) and every reading it publishes on its hub, in order. */
function publishingGateway(cfg: unknown, options?: GatewayOptions): { g: Gateway; published: Reading[] } {
  const hub = new Hub();
  const published: Reading[] = [];
  hub.readings$.subscribe((r) => published.push(r));
  const g = new Gateway(GatewayConfigSchema.parse(cfg) as GatewayConfig, hub, options);
  cleanups.push(() => g.stop());
  return { g, published };
}

/** A Modbus meter reporting power, voltage L1, imported energy and frequency. */
const meter = (id: string, profile: string, connection: Record<string, unknown>) => ({
  id,
  protocol: 'modbus',
  profile,
  connection,
  points: [
    { id: 'power', kind: 'active_power' },
    { id: 'voltage_l1', kind: 'voltage' },
    { id: 'energy_import', kind: 'energy_import' },
    { id: 'frequency', kind: 'frequency' },
  ],
});

/**
 * The gateway file of one SDM630 `meter` at bern on loopback `port` with these points;
 * `device` adds or replaces fields of the device (its id, its profile; its `connection` is
 * merged into the loopback one).
 */
const sdm630File = (
  port: number,
  points: unknown[],
  { connection, ...device }: { connection?: Record<string, unknown> } & Record<string, unknown> = {},
) => ({
  site: 'bern',
  devices: [
    {
      id: 'meter',
      protocol: 'modbus',
      profile: 'sdm630',
      ...device,
      connection: { transport: 'tcp', host: '127.0.0.1', port, ...connection },
      points,
    },
  ],
});

const byPoint = (readings: { pointId: string }[]) => Object.fromEntries(readings.map((r) => [r.pointId, r]));

describe('Modbus polling over loopback', () => {
  it('reads an SDM630 over TCP exactly, in as few requests as the gaps allow', async () => {
    const dev = await serve(startModbusTcp(sdm630Image()));
    const g = gateway({
      site: 'bern',
      devices: [meter('meter', 'sdm630', { transport: 'tcp', host: '127.0.0.1', port: dev.port, unitId: 1 })],
    });
    const out = await g.pollOnce();
    expect(out.errors).toEqual([]);
    const r = byPoint(out.readings);
    expect(r['bern/meter/power']).toMatchObject({ value: 1234.5, quality: 'good' });
    expect(r['bern/meter/voltage_l1']).toMatchObject({ value: 230.5, quality: 'good' });
    expect(r['bern/meter/energy_import']).toMatchObject({ value: 1_500_250, quality: 'good' });
    expect(r['bern/meter/frequency']).toMatchObject({ value: 50 });
    // 0x00–0x01, then 0x34–0x49: the 50-register hole is wider than the profile's maxGap of 24.
    expect(g.pollers[0]!.plans()[0]!.map((q) => [q.address, q.count])).toEqual([
      [0x00, 2],
      [0x34, 0x16],
    ]);
    expect(dev.image.reads).toBe(2);
  });

  it('reads an EM24 over RTU framed in TCP (int32 low word first, signed, scaled)', async () => {
    const img = new RegisterImage();
    for (let a = 0; a <= 0x5d; a++) img.put('input', a, [0]);
    img.put('input', 0x28, [0xfb2e, 0xffff]); // -1234 raw → -123.4 W
    img.put('input', 0x00, [2305, 0]); // 230.5 V
    img.put('input', 0x42, [0x5678, 0x0001]); // 0x15678 = 87672 × 0.1 kWh
    img.put('input', 0x37, [500]); // 50.0 Hz
    const dev = await serve(startRtuOverTcp(img, 7));
    const g = gateway({
      site: 'bern',
      devices: [
        meter('em24', 'em24', { transport: 'rtu-over-tcp', host: '127.0.0.1', port: dev.port, unitId: 7 }),
      ],
    });
    const out = await g.pollOnce();
    expect(out.errors).toEqual([]);
    const r = byPoint(out.readings);
    expect(r['bern/em24/power']!).toMatchObject({ value: -123.4, quality: 'good' });
    expect(r['bern/em24/voltage_l1']!).toMatchObject({ value: 230.5 });
    expect(r['bern/em24/energy_import']!).toMatchObject({ value: 8_767_200 });
    expect(r['bern/em24/frequency']!).toMatchObject({ value: 50 });
  });

  it('discovers a SunSpec meter, applies scale factors and reports not-implemented as bad', async () => {
    const img = new RegisterImage();
    const base = 40000;
    img.put('holding', base, [0x5375, 0x6e53, 1, 66]);
    for (let i = 0; i < 66; i++) img.put('holding', base + 4 + i, [0]);
    const m = base + 70; // model 203 ID register
    img.put('holding', m, [203, 105]);
    for (let i = 2; i < 107; i++) img.put('holding', m + i, [0]);
    img.put('holding', m + 18, [0xfc18]); // W = -1000 raw
    img.put('holding', m + 22, [0xffff]); // W_SF = -1 → -100.0 W
    img.put('holding', m + 16, [5001]).put('holding', m + 17, [0xfffe]); // 50.01 Hz
    img.put('holding', m + 46, [0x0001, 0x0000]).put('holding', m + 54, [1]); // 65536 × 10 Wh
    img.put('holding', m + 8, [0x8000]); // PhVphA not implemented
    img.put('holding', m + 107, [0xffff, 0]);
    const dev = await serve(startModbusTcp(img));
    const g = gateway({
      site: 'bern',
      devices: [
        {
          id: 'inv',
          protocol: 'modbus',
          profile: 'sunspec',
          connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
          points: [
            { id: 'power', kind: 'active_power', register: '203.W' },
            { id: 'hz', kind: 'frequency', register: '203.Hz' },
            { id: 'import', kind: 'energy_import', register: '203.TotWhImp' },
            { id: 'v1', kind: 'voltage', register: '203.PhVphA' },
          ],
        },
      ],
    });
    const out = await g.pollOnce();
    const r = byPoint(out.readings);
    expect(r['bern/inv/power']).toMatchObject({ value: -100, quality: 'good' });
    expect(r['bern/inv/hz']).toMatchObject({ value: 50.01, quality: 'good' });
    expect(r['bern/inv/import']).toMatchObject({ value: 655_360, quality: 'good' });
    expect(r['bern/inv/v1']).toMatchObject({ value: null, quality: 'bad' });
    expect(out.errors.join('\n')).toMatch(/v1: not-implemented marker/);
    expect(g.status()[0]!.sunspec?.models.map((x) => x.id)).toEqual([1, 203]);
  });

  it('reports an unreachable device as bad readings with a clear error, without throwing', async () => {
    const port = await freePort();
    const g = gateway(
      sdm630File(port, [{ id: 'power', kind: 'active_power' }], {
        id: 'gone',
        connection: { timeoutMs: 500 },
      }),
    );
    const out = await g.pollOnce();
    expect(out.unreachable).toBe(true);
    expect(out.readings).toEqual([
      { pointId: 'bern/gone/power', ts: expect.any(Number), value: null, quality: 'bad' },
    ]);
    expect(out.errors[0]).toBe(
      `gone: cannot connect to tcp://127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
    // Backoff: the next poll fails fast without a new connection attempt.
    const again = await g.pollOnce();
    expect(again.errors[0]).toMatch(/unreachable .*next attempt in/);
  });

  it('names a refused connection as such, not as a missing SunSpec map (read --once, scan)', async () => {
    const port = await freePort();
    // The device made a SunSpec inverter.
    const g = gateway(
      sdm630File(port, [{ id: 'power', kind: 'active_power', register: '103.W' }], {
        id: 'inv',
        profile: 'sunspec',
        connection: { timeoutMs: 500 },
      }),
    );
    const out = await g.pollOnce();
    expect(out.unreachable).toBe(true);
    expect(out.errors).toEqual([
      `cannot connect to tcp://127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    ]);
    const link = new ModbusLink({ transport: 'tcp', host: '127.0.0.1', port, unitId: 1, timeoutMs: 500 });
    const err = await discoverSunSpec((a, n) => link.read(1, 'holding', a, n)).catch((e: unknown) => e);
    await link.close();
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect(err).toMatchObject({ problem: 'refused', details: { problem: 'refused' } });
    const scan = await runCli(['scan', '--modbus', `127.0.0.1:${port}`, '--timeout', '500']);
    expect(scan.code).not.toBe(0);
    expect(scan.stderr).toMatch(/connection refused/);
    expect(scan.stderr).not.toMatch(/SunSpec|SunS/);
  }, 120_000);

  it('recovers after the device restarts', async () => {
    const dev = await serve(startModbusTcp(sdm630Image()));
    const g = gateway(
      sdm630File(dev.port, [{ id: 'power', kind: 'active_power' }], {
        retries: 0,
        connection: { timeoutMs: 500 },
      }),
    );
    expect((await g.pollOnce()).readings[0]).toMatchObject({ quality: 'good' });
    await dev.stop();
    const down = await g.pollOnce();
    expect(down.readings[0]).toMatchObject({ value: null, quality: 'bad' });
    dev.image.putFloat32('input', 0x34, 999);
    await dev.start();
    let value: number | null = null;
    for (let i = 0; i < 40 && value === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      value = (await g.pollOnce()).readings[0]!.value;
    }
    expect(value).toBe(999);
  });

  it('gives every point of a device that went away exactly one bad reading per failed poll, never a value', async () => {
    const dev = await serve(startModbusTcp(sdm630Image()));
    const { g, published } = publishingGateway(
      sdm630File(
        dev.port,
        [
          { id: 'power', kind: 'active_power' },
          { id: 'voltage_l1', kind: 'voltage', deadband: 5 },
          // A second poll group (own interval) on the same device.
          { id: 'energy_import', kind: 'energy_import', pollInterval: '1m' },
        ],
        { retries: 0, connection: { timeoutMs: 500 } },
      ),
      { link: { minBackoffMs: 50, maxBackoffMs: 200 } },
    );
    const points = ['bern/meter/power', 'bern/meter/voltage_l1', 'bern/meter/energy_import'];
    const up = await g.pollOnce();
    expect(up.readings.map((r) => [r.pointId, r.quality])).toEqual(points.map((p) => [p, 'good']));

    await dev.stop();
    const before = published.length;
    for (let i = 0; i < 3; i++) {
      const down = await g.pollOnce();
      expect(down.unreachable).toBe(true);
      expect(down.readings).toEqual(
        points.map((pointId) => ({ pointId, ts: expect.any(Number), value: null, quality: 'bad' })),
      );
    }
    // On the hub too, except that a deadband point repeats an unchanged bad reading only after maxSilence.
    const during = published.slice(before);
    expect(during.every((r) => r.value === null && r.quality === 'bad')).toBe(true);
    expect(during.filter((r) => r.pointId === 'bern/meter/power')).toHaveLength(3);
    expect(during.filter((r) => r.pointId === 'bern/meter/energy_import')).toHaveLength(3);
    expect(during.filter((r) => r.pointId === 'bern/meter/voltage_l1')).toHaveLength(1);

    await dev.start();
    let back: Reading[] = [];
    for (let i = 0; i < 40 && (back.length === 0 || back.some((r) => r.quality !== 'good')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      back = (await g.pollOnce()).readings;
    }
    expect(back.map((r) => [r.pointId, r.value, r.quality])).toEqual([
      ['bern/meter/power', 1234.5, 'good'],
      ['bern/meter/voltage_l1', 230.5, 'good'],
      ['bern/meter/energy_import', 1_500_250, 'good'],
    ]);
  });

  it('keeps the rest of a device readable when the map names an address the device lacks', async () => {
    const img = new RegisterImage().put('holding', 100, [1, 2, 3]).put('holding', 106, [7]);
    const dev = await serve(startModbusTcp(img));
    const g = gateway({
      site: 'bern',
      profiles: {
        plc: {
          registers: {
            a: { address: 100 },
            b: { address: 102 },
            missing: { address: 104 },
            c: { address: 106 },
          },
        },
      },
      devices: [
        {
          id: 'plc',
          protocol: 'modbus',
          profile: 'plc',
          connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
          points: ['a', 'b', 'missing', 'c'].map((id) => ({ id, kind: 'status' })),
        },
      ],
    });
    const out = await g.pollOnce();
    const r = byPoint(out.readings);
    expect(r['bern/plc/a']).toMatchObject({ value: 1, quality: 'good' });
    expect(r['bern/plc/c']).toMatchObject({ value: 7, quality: 'good' });
    expect(r['bern/plc/missing']).toMatchObject({ value: null, quality: 'bad' });
    expect(out.errors.join()).toMatch(
      /read holding 104\+1: device answered Modbus exception 2 \(illegal data address\)/,
    );
    expect(out.unreachable).toBe(false);
    // The merged read was split for good: the next poll needs no failing merged request.
    img.reads = 0;
    await g.pollOnce();
    expect(img.reads).toBe(4);
  });

  it('merges a read split by a transient exception again after remergeAfter clean polls', async () => {
    const dev = await serve(startModbusTcp(sdm630Image()));
    const g = gateway(
      sdm630File(
        dev.port,
        [
          { id: 'voltage_l1', kind: 'voltage' },
          { id: 'power', kind: 'active_power' },
          { id: 'frequency', kind: 'frequency' },
          { id: 'energy_import', kind: 'energy_import' },
        ],
        { remergeAfter: 3 },
      ),
    );
    const requestsOf = async () => {
      dev.image.reads = 0;
      const out = await g.pollOnce();
      return { reads: dev.image.reads, out };
    };
    expect((await requestsOf()).reads).toBe(2); // 0x00+2 and 0x34+0x16
    // Once: "server device failure" on the merged read of power, frequency and energy.
    let failures = 1;
    dev.image.onRead = (_fn, address, count) => {
      if (address === 0x34 && count > 2 && failures-- > 0) throw { modbusErrorCode: 4 };
    };
    const hit = await requestsOf();
    expect(hit.reads).toBe(2 + 3); // the refused merged read, then its three items one by one
    expect(hit.out.errors).toEqual([]);
    expect(hit.out.readings.every((r) => r.quality === 'good')).toBe(true);
    const perPoll: number[] = [];
    for (let i = 0; i < 5; i++) perPoll.push((await requestsOf()).reads);
    // Three clean polls split (1 + 3 requests), then merged again.
    expect(perPoll).toEqual([4, 4, 4, 2, 2]);
  });

  it('keeps a read split while its single reads still fail, and for good after exception 2', async () => {
    const img = new RegisterImage().put('holding', 100, [1, 2, 3]);
    const dev = await serve(startModbusTcp(img));
    const g = gateway({
      site: 'bern',
      profiles: { plc: { registers: { a: { address: 100 }, b: { address: 101 }, c: { address: 102 } } } },
      devices: [
        {
          id: 'plc',
          protocol: 'modbus',
          profile: 'plc',
          remergeAfter: 2,
          connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
          points: ['a', 'b', 'c'].map((id) => ({ id, kind: 'status' })),
        },
      ],
    });
    // Busy (exception 6) on every read of b: never a clean poll, so never merged again.
    img.onRead = (_fn, address, count) => {
      if (address <= 101 && address + count > 101) throw { modbusErrorCode: 6 };
    };
    for (let i = 0; i < 4; i++) await g.pollOnce();
    img.reads = 0;
    const out = await g.pollOnce();
    expect(img.reads).toBe(3);
    expect(out.readings.map((r) => r.quality)).toEqual(['good', 'bad', 'good']);
    // The fault clears: merged again after two clean polls.
    img.onRead = null;
    await g.pollOnce();
    await g.pollOnce();
    img.reads = 0;
    await g.pollOnce();
    expect(img.reads).toBe(1);
    // Exception 2 on the merged read whose items all answer (a hole the device refuses): stays split.
    img.onRead = (_fn, _address, count) => {
      if (count > 1) throw { modbusErrorCode: 2 };
    };
    for (let i = 0; i < 4; i++) await g.pollOnce();
    img.onRead = null;
    img.reads = 0;
    await g.pollOnce();
    expect(img.reads).toBe(3);
  });

  it('gives a poll skipped because the previous one overran one bad reading per point', async () => {
    const img = sdm630Image();
    const dev = await serve(startModbusTcp(img));
    const { g, published } = publishingGateway(
      sdm630File(
        dev.port,
        [
          { id: 'power', kind: 'active_power' },
          { id: 'voltage_l1', kind: 'voltage' },
        ],
        { pollInterval: '100ms', connection: { timeoutMs: 5000 } },
      ),
    );
    // Each request answers after 350 ms: a poll (two requests) spans about seven intervals.
    img.delayMs = 350;
    g.start();
    const bad = (id: string) =>
      published.filter((r) => r.pointId === `bern/meter/${id}` && r.quality === 'bad');
    const until = Date.now() + 60_000;
    while (bad('power').length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await g.stop();
    const overruns = g.status()[0]!.overruns;
    expect(overruns).toBeGreaterThanOrEqual(3);
    for (const id of ['power', 'voltage_l1']) {
      expect(bad(id)).toHaveLength(overruns);
      expect(bad(id).every((r) => r.value === null)).toBe(true);
    }
    // The polls that did run still delivered their values.
    expect(published.some((r) => r.pointId === 'bern/meter/power' && r.value === 1234.5)).toBe(true);
  });

  it('says once that a device went down and once that it is back, not per poll', async () => {
    const dev = await serve(startModbusTcp(sdm630Image()));
    const lines: [string, string][] = [];
    const g = new Gateway(
      GatewayConfigSchema.parse(
        sdm630File(dev.port, [{ id: 'power', kind: 'active_power' }], {
          pollInterval: '50ms',
          retries: 0,
          connection: { timeoutMs: 500 },
        }),
      ) as GatewayConfig,
      new Hub(),
      { link: { minBackoffMs: 20, maxBackoffMs: 50 }, log: (level, line) => lines.push([level, line]) },
    );
    cleanups.push(() => g.stop());
    const until = async (cond: () => boolean) => {
      const end = Date.now() + 30_000;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(cond()).toBe(true);
    };
    g.start();
    await until(() => g.status()[0]!.polls >= 2);
    expect(lines).toEqual([]);
    await dev.stop();
    await until(() => g.status()[0]!.failedPolls >= 5);
    expect(lines).toEqual([
      [
        'warn',
        expect.stringMatching(
          new RegExp(`^device meter is down: .*127\\.0\\.0\\.1:${dev.port}.*connection refused`),
        ),
      ],
    ]);
    await dev.start();
    await until(() => g.status()[0]!.state === 'ok');
    const polls = g.status()[0]!.polls;
    await until(() => g.status()[0]!.polls >= polls + 3);
    expect(lines.map((l) => l[0])).toEqual(['warn', 'info']);
    expect(lines[1]![1]).toBe('device meter is back');
  });

  it('flags a counter that goes backwards as uncertain', async () => {
    const dev = await serve(startModbusTcp(sdm630Image({ importKwh: 100 })));
    const g = gateway(sdm630File(dev.port, [{ id: 'energy_import', kind: 'energy_import' }]));
    expect((await g.pollOnce()).readings[0]).toMatchObject({ value: 100_000, quality: 'good' });
    dev.image.putFloat32('input', 0x48, 5);
    const out = await g.pollOnce();
    expect(out.readings[0]).toMatchObject({ value: 5000, quality: 'uncertain' });
    expect(out.errors.join()).toMatch(/reset/);
  });
});
