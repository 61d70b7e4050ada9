import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../gateway/config.js';
import { Gateway } from '../gateway/gateway.js';
import { freePort } from '../gateway/testing.js';
import { scenario, startRig } from '../market/runtime/testing.js';
import { type Asset, AssetSchema } from '../model/index.js';
import { STORAGE_CONTROLS } from '../sim/gateway-config.js';
import { Hub } from '../stream/index.js';
import { pymodbus } from '../testkit/system.js';
import { command, readState, release, storage124, toRequests } from './drivers.js';

const battery = (control: Record<string, string>, over: Record<string, unknown> = {}): Asset =>
  AssetSchema.parse({
    id: 'battery',
    type: 'battery',
    capacityKwh: 20,
    maxChargeKw: 5,
    maxDischargeKw: 5,
    control,
    ...over,
  });

const sunspec = (site: string, device: string) => ({
  mode: `${site}/${device}/mode`,
  charge_rate: `${site}/${device}/charge_rate`,
  discharge_rate: `${site}/${device}/discharge_rate`,
});

describe('asset drivers (pure)', () => {
  it('commands a SunSpec 124 battery with both limits enforced: falling rate, rising rate, then mode 3', () => {
    const b = battery({ ...sunspec('s', 'inv'), revert_timeout: 's/inv/revert' });
    expect(command(b, 2.5, { revertS: 60 })).toEqual({
      writes: [
        { point: 's/inv/revert', value: 60 },
        { point: 's/inv/discharge_rate', value: 0 },
        { point: 's/inv/charge_rate', value: 50 },
        { point: 's/inv/mode', value: 3 },
      ],
      kw: 2.5,
    });
    expect(command(b, -9).writes).toEqual([
      { point: 's/inv/charge_rate', value: 0 },
      { point: 's/inv/discharge_rate', value: 100 },
      { point: 's/inv/mode', value: 3 },
    ]);
    expect(command(b, -9).kw).toBe(-5);
    expect(command(b, 0).writes.map((w) => w.value)).toEqual([0, 0, 3]);
    expect(release(b).writes).toEqual([
      { point: 's/inv/charge_rate', value: 0 },
      { point: 's/inv/discharge_rate', value: 0 },
      { point: 's/inv/mode', value: 0 },
    ]);
  });

  it('rounds the rates to the register resolution and reports the power they give', () => {
    const c = storage124({ mode: 'm', charge: 'c', discharge: 'd' }, 1.23456, 7, {
      maxChargeKw: 7,
      maxDischargeKw: 7,
    });
    expect(c.writes[1]).toEqual({ point: 'c', value: 17.64 });
    expect(c.kw).toBeCloseTo(1.2348, 6);
  });

  it('drives a W setpoint, an EV charger, a fan by its speed, an on/off heat pump and a PV limit', () => {
    expect(command(battery({ power: 's/inv/p' }), -1.2345).writes).toEqual([
      { point: 's/inv/p', value: -1235 },
    ]);
    const ev = AssetSchema.parse({
      id: 'ev',
      type: 'ev_charger',
      maxKw: 11,
      minKw: 4.2,
      control: { power: 's/ev/p' },
    });
    expect(command(ev, 3).writes).toEqual([{ point: 's/ev/p', value: 0 }]);
    expect(command(ev, 20).writes).toEqual([{ point: 's/ev/p', value: 11000 }]);
    const fan = AssetSchema.parse({
      id: 'ahu',
      type: 'sheddable',
      nominalKw: 1.27,
      ratedKw: 3.7,
      maxShedFraction: 0.8,
      control: { speed: 's/bms/ahu-speed' },
    });
    const slow = command(fan, 0.5);
    expect(slow.writes).toEqual([{ point: 's/bms/ahu-speed', value: 51.3 }]);
    expect(slow.kw).toBeCloseTo(0.4995, 3);
    const hp = AssetSchema.parse({
      id: 'hp',
      type: 'thermal',
      maxKw: 4,
      cop: 3,
      capacitanceKwhPerK: 5,
      resistanceKPerKw: 5,
      minC: 19,
      maxC: 23,
      control: { enable: 's/bms/hp-on' },
    });
    expect(command(hp, 1).writes).toEqual([{ point: 's/bms/hp-on', value: 0 }]);
    expect(command(hp, 3).kw).toBe(4);
    // On a zone thermostat: heat at the top of the comfort band, coast at its bottom, each half
    // the thermostat's band inside it; a sped-up fan is clamped to its declared speed range.
    const zone = AssetSchema.parse({ ...hp, hysteresisC: 1, control: { setpoint: 's/bms/zone-sp' } });
    expect(command(zone, 3)).toEqual({ writes: [{ point: 's/bms/zone-sp', value: 22.5 }], kw: 4 });
    expect(command(zone, 1)).toEqual({ writes: [{ point: 's/bms/zone-sp', value: 19.5 }], kw: 0 });
    expect(() => AssetSchema.parse({ ...zone, minC: 21, maxC: 21.5 })).toThrow(/hysteresisC/);
    const ranged = AssetSchema.parse({ ...fan, minSpeedPct: 60 });
    expect(command(ranged, 0.5).writes).toEqual([{ point: 's/bms/ahu-speed', value: 60 }]);
    const pv = AssetSchema.parse({
      id: 'pv',
      type: 'pv',
      kwp: 10,
      inverterKw: 8,
      control: { limit_pct: 's/pv/limit', limit_enable: 's/pv/ena' },
    });
    expect(command(pv, -2).writes).toEqual([
      { point: 's/pv/limit', value: 25 },
      { point: 's/pv/ena', value: 1 },
    ]);
    expect(release(pv).writes).toEqual([{ point: 's/pv/ena', value: 0 }]);
  });

  it('names what is missing instead of writing, and refuses an unknown binding in the model', () => {
    expect(command(battery({}), 1)).toMatchObject({
      writes: [],
      missing: expect.stringMatching(/no control binding/),
    });
    expect(() => battery({ rate: 's/inv/r' })).toThrow(/a battery has no control binding .*rate/);
  });

  it('reads an inverter’s output as negative draw and a SoC', () => {
    const b = battery({}, { measure: { power: 's/inv/w', soc: 's/inv/soc' } });
    const latest = (k: string) => ({ 's/inv/w': 2000, 's/inv/soc': 55 })[k];
    expect(readState(b, latest)).toEqual({ kw: -2, socPct: 55 });
  });
});

describe('SunSpec 124 battery driver on the simulator (real Modbus over loopback, via the gateway)', () => {
  it('charges, discharges, idles and hands back as the simulator reads model 124', async () => {
    const rig = await startRig(
      scenario({
        id: 'ctl',
        name: 'ctl',
        location: { lat: 47, lon: 7.4 },
        timezone: 'Europe/Zurich',
        failsafeTimeoutS: 600,
        buildings: [
          {
            id: 'b',
            gridMeter: { modbus: 'none' },
            devices: [{ id: 'battery', type: 'battery', capacityKwh: 20, maxChargeKw: 5, maxDischargeKw: 5 }],
          },
        ],
      }),
      {
        speed: 1,
        startMs: Date.parse('2026-03-10T10:00:00Z'),
        devices: (d) => d.protocol === 'modbus',
        point: (_d, p) => (p.writable ? { ...p, minWriteInterval: '1ms' } : p),
      },
    );
    try {
      const asset = battery(sunspec(rig.site, 'b-battery'));
      const dev = () => {
        const d = rig.sim.sim.building('b')!.device('battery');
        if (d?.type !== 'battery') throw new Error('no battery');
        return d;
      };
      const send = async (writes: ReturnType<typeof toRequests>) => {
        const out = [];
        for (const w of writes) out.push(await rig.gateway.write(w));
        return out.map((r) => r.outcome);
      };
      expect(await send(toRequests(command(asset, 2.5), 'test', 'charge'))).toEqual([
        'written',
        'written',
        'written',
      ]);
      expect(dev().setpointW).toBeCloseTo(2500, 6);
      expect(await send(toRequests(command(asset, -4), 'test', 'discharge'))).toEqual([
        'written',
        'written',
        'written',
      ]);
      expect(dev().setpointW).toBeCloseTo(-4000, 6);
      await send(toRequests(command(asset, 0), 'test', 'idle'));
      expect(dev().setpointW).toBe(0);
      await send(toRequests(command(asset, 1), 'test', 'charge'));
      expect(await send(toRequests(release(asset), 'test', 'hand back'))).toEqual([
        'written',
        'written',
        'written',
      ]);
      expect(dev().setpointW).toBe(0);
    } finally {
      await rig.stop();
    }
  }, 120_000);
});

const dep = pymodbus();
const SCRIPT = fileURLToPath(new URL('./fixtures/pymodbus_storage.py', import.meta.url));

describe.skipIf(dep.skipReason !== null)(
  'SunSpec 124 battery driver on an independent pymodbus server',
  () => {
    let server: ChildProcess;
    let port: number;
    const writes: { address: number; values: number[] }[] = [];
    let stderr = '';
    let listening: Promise<void>;

    beforeAll(async () => {
      port = await freePort();
      server = spawn('/usr/bin/python3', [SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      server.stdout!.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line.startsWith('{')) writes.push(JSON.parse(line));
        }
      });
      listening = new Promise((resolve, reject) => {
        server.once('exit', (code) => reject(new Error(`pymodbus exited ${code}: ${stderr}`)));
        server.stderr!.on('data', (d) => {
          stderr += d;
        });
        const poll = async () => {
          const { connect } = await import('node:net');
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve();
          });
          s.once('error', () => setTimeout(poll, 100));
        };
        void poll();
      });
      await listening;
    }, 30_000);
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    it('writes the raw registers the SunSpec 124 definition gives, in the settled order', async () => {
      const cfg = GatewayConfigSchema.parse({
        site: 'interop',
        devices: [
          {
            id: 'inv',
            protocol: 'modbus',
            profile: 'sunspec',
            connection: { transport: 'tcp', host: '127.0.0.1', port, unitId: 1 },
            points: [
              ...STORAGE_CONTROLS.map((p) => ({ ...p, minWriteInterval: '1ms' })),
              {
                id: 'revert',
                kind: 'setpoint',
                unit: 's',
                register: '124.InOutWRte_RvrtTms',
                writable: true,
                min: 0,
                max: 3600,
                minWriteInterval: '1ms',
              },
              { id: 'soc', kind: 'state_of_charge', register: '124.ChaState' },
            ],
          },
        ],
      });
      const gw = new Gateway(cfg, new Hub());
      try {
        const asset = battery({ ...sunspec('interop', 'inv'), revert_timeout: 'interop/inv/revert' });
        const outcomes = [];
        for (const r of toRequests(command(asset, 2.5, { revertS: 60 }), 'test', 'charge'))
          outcomes.push((await gw.write(r)).outcome);
        for (const r of toRequests(command(asset, -1), 'test', 'discharge'))
          outcomes.push((await gw.write(r)).outcome);
        expect(outcomes.every((o) => o === 'written')).toBe(true);
        // Model 124 at 40122: StorCtl_Mod 40127, OutWRte 40134, InWRte 40135 (InOutWRte_SF −2), RvrtTms 40137.
        expect(writes).toEqual([
          { address: 40137, values: [60] },
          { address: 40134, values: [0] },
          { address: 40135, values: [5000] },
          { address: 40127, values: [3] },
          { address: 40135, values: [0] },
          { address: 40134, values: [2000] },
          { address: 40127, values: [3] },
        ]);
      } finally {
        await gw.stop();
      }
    }, 60_000);
  },
);
