import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../stream/index.js';
import { GatewayConfigSchema } from './config.js';
import { Gateway } from './gateway.js';
import type { WriteRecord } from './safety.js';
import {
  inverterProfiles,
  limitSetpoint,
  loopbackInverter,
  RegisterImage,
  startModbusTcp,
  type TestDevice,
} from './testing.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A battery inverter: setpoint in W as int16 × 10 at holding 10, status read-only at 11, watchdog at 12. */
async function setup(extra: Record<string, unknown> = {}) {
  const img = new RegisterImage().put('holding', 10, [150]).put('holding', 11, [1]).put('holding', 12, [0]);
  const writes: [number, number[]][] = [];
  img.onWrite = (address, words) => {
    writes.push([address, words]);
  };
  const dev: TestDevice = await startModbusTcp(img);
  cleanups.push(dev.stop);
  let now = 1_000_000;
  const hub = new Hub();
  const published: WriteRecord[] = [];
  hub.topic('writes').subscribe((r) => published.push(r));
  const cfg = GatewayConfigSchema.parse({
    site: 'bern',
    profiles: inverterProfiles({ status: { address: 11 }, watchdog: { address: 12, writable: true } }),
    devices: [
      {
        ...loopbackInverter('inv', dev.port, [
          limitSetpoint(extra),
          { id: 'status', kind: 'status' },
          { id: 'watchdog', kind: 'heartbeat', writable: true, min: 0, max: 999, minWriteInterval: '100ms' },
        ]),
        heartbeat: { point: 'watchdog', interval: '100ms' },
      },
    ],
  });
  const gw = new Gateway(cfg, hub, { clock: () => now });
  cleanups.push(() => gw.stop());
  return {
    gw,
    img,
    writes,
    published,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const ask = (point: string, value: number) => ({
  device: 'inv',
  point,
  value,
  who: 'alice',
  why: 'peak shaving test',
});

describe('write safety layer', () => {
  it('writes an allowed value, reads it back and records who, why, old and new', async () => {
    const { gw, writes, published } = await setup();
    const rec = await gw.write(ask('limit', 2500));
    expect(rec).toMatchObject({
      outcome: 'written',
      refusal: null,
      who: 'alice',
      why: 'peak shaving test',
      old: 1500,
      value: 2500,
      readBack: 2500,
      device: 'inv',
      point: 'limit',
    });
    expect(writes).toEqual([[10, [250]]]);
    expect(published).toEqual([rec]);
  });

  it('refuses a point that is not allow-listed, without touching the device', async () => {
    const { gw, writes } = await setup();
    const rec = await gw.write(ask('status', 0));
    expect(rec).toMatchObject({
      outcome: 'refused',
      refusal: 'not_writable',
      reason: expect.stringMatching(/not writable/),
    });
    expect(await gw.write({ ...ask('limit', 1), device: 'nope' })).toMatchObject({
      outcome: 'refused',
      refusal: 'no_such_device',
    });
    // The model's write port carries the site: another site's request is not this gateway's.
    expect(await gw.write({ ...ask('limit', 1), site: 'zurich' })).toMatchObject({
      outcome: 'refused',
      refusal: 'no_such_device',
    });
    expect(writes).toEqual([]);
  });

  it('refuses out-of-range values, or clamps them when the point says so', async () => {
    const refused = await setup();
    const rec = await refused.gw.write(ask('limit', 6000));
    expect(rec).toMatchObject({
      outcome: 'refused',
      refusal: 'out_of_range',
      value: null,
      reason: '6000 is outside the allowed range 0 to 5000',
    });
    expect(refused.writes).toEqual([]);
    const clamping = await setup({ outOfRange: 'clamp' });
    const c = await clamping.gw.write(ask('limit', -50));
    expect(c).toMatchObject({ outcome: 'written', requested: -50, value: 0, clamped: true, readBack: 0 });
  });

  it('rate-limits writes to one point', async () => {
    const { gw, writes, advance } = await setup({ minWriteInterval: '10s' });
    expect((await gw.write(ask('limit', 1000))).outcome).toBe('written');
    advance(3000);
    const rec = await gw.write(ask('limit', 1100));
    expect(rec).toMatchObject({
      outcome: 'refused',
      refusal: 'rate_limited',
      reason: expect.stringMatching(/rate-limited/),
    });
    advance(7000);
    expect((await gw.write(ask('limit', 1200))).outcome).toBe('written');
    expect(writes.map((w) => w[1][0])).toEqual([100, 120]);
  });

  it('reports a write the device rejects and does not retry it', async () => {
    const { gw, img, writes } = await setup();
    img.onWrite = (address, words) => {
      writes.push([address, words]);
      throw { modbusErrorCode: 3 };
    };
    const rec = await gw.write(ask('limit', 3000));
    expect(rec).toMatchObject({ outcome: 'rejected', old: 1500, readBack: null });
    expect(rec.reason).toMatch(/Modbus exception 3 \(illegal data value\)/);
    expect(writes).toHaveLength(1);
  });

  it('flags a write the device silently ignores as unverified', async () => {
    const { gw, img } = await setup();
    // A device that acknowledges but keeps its old value.
    img.onWrite = (address) => {
      queueMicrotask(() => img.put('holding', address, [150]));
    };
    const rec = await gw.write(ask('limit', 4000));
    expect(rec.outcome).toBe('unverified');
    expect(rec.reason).toMatch(/read back 1500, expected 4000/);
  });

  it('sends heartbeat writes for the device watchdog through the safety layer', async () => {
    const { gw, img, published, advance } = await setup();
    gw.start();
    for (let i = 0; i < 20 && published.length < 3; i++) {
      advance(200);
      await new Promise((r) => setTimeout(r, 60));
    }
    const beats = published.filter((r) => r.point === 'watchdog');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((b) => b.outcome === 'written' && b.who === 'gateway')).toBe(true);
    expect(img.tables.holding.get(12)).toBe(beats.at(-1)!.value);
  });
});

describe('write safety layer under concurrent writers', () => {
  /**
   * Concurrent writers on two points of one device, on a pinned clock that the test moves
   * between bursts: whatever the interleaving, the rate limit is exact per point, every value
   * sent is within the point's limits, and every read-back is the value that write sent.
   */
  it('serialises writes per point: exact rate limit, limits kept, read-back matches', async () => {
    const img = new RegisterImage().put('holding', 10, [0]).put('holding', 13, [0]);
    const dev = await startModbusTcp(img);
    cleanups.push(dev.stop);
    const cfg = GatewayConfigSchema.parse({
      site: 'bern',
      profiles: inverterProfiles({ reserve: { address: 13, type: 'uint16', unit: 'W', writable: true } }),
      devices: [
        loopbackInverter('inv', dev.port, [
          limitSetpoint({ minWriteInterval: '50ms', outOfRange: 'clamp' }),
          {
            id: 'reserve',
            kind: 'setpoint',
            unit: 'W',
            writable: true,
            min: 100,
            max: 900,
            minWriteInterval: '20ms',
          },
        ]),
      ],
    });
    const limits = { limit: { min: 0, max: 5000, gap: 50 }, reserve: { min: 100, max: 900, gap: 20 } };
    const step = { limit: 10, reserve: 1 };
    const burst = fc.record({
      advanceMs: fc.integer({ min: 0, max: 60 }),
      writes: fc.array(
        fc.record({
          point: fc.constantFrom('limit' as const, 'reserve' as const),
          value: fc.integer({ min: -100, max: 6000 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(burst, { minLength: 1, maxLength: 6 }), async (bursts) => {
        let now = 1_000_000;
        const gw = new Gateway(cfg, new Hub(), { clock: () => now });
        try {
          const pending: Promise<WriteRecord>[] = [];
          for (const b of bursts) {
            now += b.advanceMs;
            for (const w of b.writes)
              pending.push(
                gw.write({ device: 'inv', point: w.point, value: w.value, who: 'p', why: 'race' }),
              );
            // Let some of the burst reach the device before the clock moves on.
            await new Promise((r) => setImmediate(r));
          }
          const records = await Promise.all(pending);
          for (const point of ['limit', 'reserve'] as const) {
            const { min, max, gap } = limits[point];
            // In the order they were decided (the audit order), not the order they were asked.
            const sent = gw.records.filter((r) => r.point === point && r.outcome !== 'refused');
            for (let i = 1; i < sent.length; i++)
              expect(sent[i]!.ts - sent[i - 1]!.ts).toBeGreaterThanOrEqual(gap);
            for (const r of sent) {
              expect(r.value).not.toBeNull();
              expect(r.value!).toBeGreaterThanOrEqual(min);
              expect(r.value!).toBeLessThanOrEqual(max);
              expect(r.outcome).toBe('written');
              // The register holds tenths of its unit (limit: × 10 W): half a step is exact.
              expect(Math.abs(r.readBack! - r.value!)).toBeLessThanOrEqual(step[point] / 2);
            }
          }
          expect(records).toHaveLength(pending.length);
        } finally {
          await gw.stop();
        }
      }),
      { numRuns: 40 },
    );
  });
});
