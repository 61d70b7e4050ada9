import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeIds, type ClientSession } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ahuFans, finnishSite, SCHOOL_BATTERY } from '../market/runtime/testing.js';
import { gatewayConfigFor } from '../sim/gateway-config.js';
import type { SheddableDevice } from '../sim/physics/building.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { freePortPair } from '../sim/testing.js';
import { Hub } from '../stream/index.js';
import { type GatewayConfig, GatewayConfigSchema } from './config.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import type { WriteRecord, WriteRequest } from './safety.js';
import { freePort } from './testing.js';

/**
 * `Gateway.writeMany` against the simulator's OPC UA server (six ventilation fans on one BMS)
 * and its Modbus battery: the same records as one `write` each, one Write per device, and the
 * rate limit kept when single writes and batches meet on a point.
 */

let dir: string;
let running: RunningSimulator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gfx-write-many-'));
  // The market rigs' fans and battery (one BMS with six fans, a SunSpec battery).
  const scenario = finnishSite({
    id: 'wm',
    buildings: [{ id: 'b', kind: 'school', devices: [ahuFans(6), SCHOOL_BATTERY] }],
  });
  running = await startSimulator(scenario, {
    seed: 5,
    speed: 1,
    host: '127.0.0.1',
    portBase: await freePortPair(),
    pkiDir: join(dir, 'sim-pki'),
    startMs: Date.parse('2026-11-18T08:00:00Z'),
    now: Date.now,
  });
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The BMS and the battery, their points as the site's file narrows them: ahu-1 as generated
 * (40–85 %, refused outside), ahu-2 clamped, ahu-3 at most once an hour, ahu-4 allowed up to
 * 120 % (which the BMS itself refuses above 100), ahu-5 not allow-listed.
 */
function config(bmsEndpoint?: string): GatewayConfig {
  const generated = gatewayConfigFor(running.sim, running.endpoints) as {
    devices: { id: string; connection: object; points: Record<string, unknown>[] }[];
  };
  const narrowed: Record<string, Record<string, unknown>> = {
    'ahu-2-speed': { outOfRange: 'clamp' },
    'ahu-3-speed': { minWriteInterval: '1h' },
    'ahu-4-speed': { max: 120 },
    'ahu-5-speed': { writable: false },
    'ahu-6-speed': { minWriteInterval: '1h' },
  };
  const devices = generated.devices
    .filter((d) => d.id === 'b-bms' || d.id === 'b-battery')
    .map((d) => ({
      ...d,
      points: d.points.filter((p) => p.writable === true).map((p) => ({ ...p, ...narrowed[p.id as string] })),
      ...(bmsEndpoint && d.id === 'b-bms'
        ? { connection: { ...d.connection, endpointUrl: bmsEndpoint, timeoutMs: 2000 } }
        : {}),
    }));
  return GatewayConfigSchema.parse({ ...generated, devices });
}

const fan = (n: number) => running.sim.building('b')!.device(`ahu-${n}`) as SheddableDevice;
const speed = (n: number, value: number): WriteRequest => ({
  device: 'b-bms',
  point: `ahu-${n}-speed`,
  value,
  who: 'test',
  why: 'batch test',
});

function gateway(options: GatewayOptions = {}, hub = new Hub()): Gateway {
  return new Gateway(config(), hub, {
    opcua: { pkiDir: join(dir, 'client-pki'), acceptUnknownCertificates: true },
    ...options,
  });
}

/** The one method node-opcua's session sends every service request through. */
interface Transactions {
  performMessageTransaction(
    req: {
      nodesToRead?: { nodeId: unknown; attributeId: number }[];
      nodesToWrite?: { nodeId: unknown; attributeId: number }[];
    },
    callback: unknown,
  ): void;
}

/** The gateway's OPC UA session (open after its first write), for spying on its service calls. */
const sessionOf = (gw: Gateway) => (gw.opcuaDevices[0] as unknown as { session: ClientSession }).session;

/** Every fan's speed setpoint back to 70 % on the simulator itself (not through a gateway). */
function resetFans(): void {
  for (let n = 1; n <= 6; n++) fan(n).setpointPct = 70;
}

describe('Gateway.writeMany against the simulator', { timeout: 120_000 }, () => {
  it('gives the records one write each would give, in request order, with one OPC UA Write and two Reads', async () => {
    const requests: WriteRequest[] = [
      speed(1, 55),
      speed(2, 95),
      speed(3, 60),
      speed(4, 110),
      speed(5, 50),
      speed(6, 30),
      { ...speed(1, 50), point: 'nope' },
      { ...speed(1, 50), device: 'ghost' },
      { device: 'b-battery', point: 'charge_rate', value: 10, who: 'test', why: 'batch test' },
      { ...speed(1, 50), site: 'elsewhere' },
    ];
    // One clock for both gateways that moves only when the test says: the same times, the same words.
    let now = Date.parse('2026-11-18T08:00:00Z');
    const clock = () => now;
    const singles = gateway({ clock });
    const auditFile = join(dir, 'writes.jsonl');
    const hub = new Hub();
    const batch = gateway({ auditFile, clock }, hub);
    try {
      // ahu-3 was written a moment ago through each gateway: now it is rate-limited.
      for (const gw of [singles, batch]) expect((await gw.write(speed(3, 50))).outcome).toBe('written');
      now += 100;

      resetFans();
      const one: WriteRecord[] = [];
      for (const r of requests) one.push(await singles.write(r));

      resetFans();
      const session = sessionOf(batch);
      // Every OPC UA service call the session sends (each one round trip).
      const calls = vi.spyOn(session as unknown as Transactions, 'performMessageTransaction');
      const published: WriteRecord[] = [];
      const sub = hub.topic('writes').subscribe((w) => published.push(w));
      const records = await batch.writeMany(requests);
      sub.unsubscribe();

      const outcomes = records.map((r) => [r.point, r.outcome, r.refusal, r.value]);
      expect(outcomes).toEqual([
        ['ahu-1-speed', 'written', null, 55],
        ['ahu-2-speed', 'written', null, 85],
        ['ahu-3-speed', 'refused', 'rate_limited', null],
        ['ahu-4-speed', 'rejected', null, 110],
        ['ahu-5-speed', 'refused', 'not_writable', null],
        ['ahu-6-speed', 'refused', 'out_of_range', null],
        ['nope', 'refused', 'no_such_point', null],
        ['ahu-1-speed', 'refused', 'no_such_device', null],
        ['charge_rate', 'written', null, 10],
        ['ahu-1-speed', 'refused', 'no_such_device', null],
      ]);
      expect(records[1]).toMatchObject({ clamped: true, old: 70, readBack: 85 });
      expect(records[3]!.reason).toBe('server answered BadOutOfRange');
      // The same records as single writes, but for the battery's old value (the single write
      // before changed it).
      const comparable = (rs: WriteRecord[]) =>
        rs.map((r) => (r.device === 'b-battery' ? { ...r, old: 'not compared' } : r));
      expect(comparable(records)).toEqual(comparable(one));

      // On the server: the allowed values, nothing else (all fans were at 70 % before).
      expect([1, 2, 3, 4, 5, 6].map((n) => fan(n).setpointPct)).toEqual([55, 85, 70, 70, 70, 70]);

      // Hub, records and audit file: every record, in request order.
      expect(published).toEqual(records);
      expect(batch.records.slice(-records.length)).toEqual(records);
      await batch.flushAudit();
      const lines = (await readFile(auditFile, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.slice(-records.length)).toEqual(records);

      // One Write with the three allowed fans; the old values and the read-back one Read each;
      // the fans' data types (asked once per node) one more Read, the first time only.
      const fanCalls = calls.mock.calls.flatMap(([req]) => {
        const nodes = req.nodesToRead ?? req.nodesToWrite ?? [];
        if (!nodes.some((n) => String(n.nodeId).includes('SpeedSetpoint'))) return [];
        const attributes = [...new Set(nodes.map((n) => AttributeIds[n.attributeId]))];
        return [`${req.constructor.name} ${attributes.join()} ×${nodes.length}`];
      });
      expect(fanCalls).toEqual([
        'ReadRequest Value ×3',
        'ReadRequest DataType ×3',
        'WriteRequest Value ×3',
        'ReadRequest Value ×2',
      ]);
    } finally {
      await singles.stop();
      await batch.stop();
    }
  });

  it('keeps the rate limit when a write and a batch to the same point arrive together', async () => {
    const gw = gateway();
    try {
      resetFans();
      const [first, batch, last] = await Promise.all([
        gw.write(speed(6, 50)),
        gw.writeMany([speed(6, 60), speed(1, 45), speed(6, 65)]),
        gw.write(speed(6, 55)),
      ]);
      // In call order: the first write wins, everything after it to ahu-6 waits its hour.
      expect(first.outcome).toBe('written');
      expect(batch.map((r) => [r.point, r.outcome, r.refusal])).toEqual([
        ['ahu-6-speed', 'refused', 'rate_limited'],
        ['ahu-1-speed', 'written', null],
        ['ahu-6-speed', 'refused', 'rate_limited'],
      ]);
      expect(last).toMatchObject({ outcome: 'refused', refusal: 'rate_limited' });
      expect(gw.records.filter((r) => r.point === 'ahu-6-speed' && r.outcome === 'written')).toHaveLength(1);
      expect(fan(6).setpointPct).toBe(50);
      expect(fan(1).setpointPct).toBe(45);
    } finally {
      await gw.stop();
    }
  });

  it('fails every allowed point of a BMS it cannot reach, as single writes do, and sends nothing', async () => {
    const unreachable = config(`opc.tcp://127.0.0.1:${await freePort()}/UA/Sim`);
    const gws = [0, 1].map(
      () =>
        new Gateway(unreachable, new Hub(), {
          opcua: { pkiDir: join(dir, 'client-pki'), acceptUnknownCertificates: true },
        }),
    );
    try {
      const requests = [speed(1, 55), speed(6, 30)];
      const one = [await gws[0]!.write(requests[0]!), await gws[0]!.write(requests[1]!)];
      const many = await gws[1]!.writeMany(requests);
      expect(many.map((r) => [r.outcome, r.refusal])).toEqual([
        ['failed', null],
        ['refused', 'out_of_range'],
      ]);
      expect(many[0]!.reason).toMatch(/connection refused/);
      expect(many.map((r) => ({ ...r, ts: 0 }))).toEqual(one.map((r) => ({ ...r, ts: 0 })));
    } finally {
      for (const gw of gws) await gw.stop();
    }
  });
});
