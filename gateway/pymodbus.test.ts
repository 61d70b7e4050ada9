import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../stream/index.js';
import { pymodbus } from '../testkit/system.js';
import { GatewayConfigSchema } from './config.js';
import { Gateway } from './gateway.js';
import { freePort } from './testing.js';

const dep = pymodbus();
const SCRIPT = fileURLToPath(new URL('./fixtures/pymodbus_meters.py', import.meta.url));

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`pymodbus server did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(dep.skipReason !== null)('interoperability with pymodbus (independent Modbus server)', () => {
  let server: ChildProcess;
  let port: number;
  let stderr = '';

  beforeAll(async () => {
    port = await freePort();
    server = spawn('/usr/bin/python3', [SCRIPT, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    server.stderr!.on('data', (d) => (stderr += d));
    try {
      await waitForPort(port, 15_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  });
  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('reads SDM630, EM24, ABB B23 and Janitza UMG 604 maps exactly as encoded by Python', async () => {
    const conn = (unitId: number) => ({ transport: 'tcp', host: '127.0.0.1', port, unitId });
    const cfg = GatewayConfigSchema.parse({
      site: 'interop',
      devices: [
        {
          id: 'sdm',
          protocol: 'modbus',
          profile: 'sdm630',
          connection: conn(1),
          points: [
            { id: 'voltage_l1', kind: 'voltage' },
            { id: 'power', kind: 'active_power' },
            { id: 'frequency', kind: 'frequency' },
            { id: 'energy_import', kind: 'energy_import' },
          ],
        },
        {
          id: 'em24',
          protocol: 'modbus',
          profile: 'em24',
          connection: conn(2),
          points: [
            { id: 'voltage_l1', kind: 'voltage' },
            { id: 'current_l1', kind: 'current' },
            { id: 'power_l2', kind: 'active_power' },
            { id: 'power', kind: 'active_power' },
            { id: 'power_factor', kind: 'power_factor' },
            { id: 'frequency', kind: 'frequency' },
            { id: 'energy_import', kind: 'energy_import' },
            { id: 'energy_export', kind: 'energy_export' },
          ],
        },
        {
          id: 'abb',
          protocol: 'modbus',
          profile: 'abb-b23',
          connection: conn(3),
          points: [
            { id: 'energy_import', kind: 'energy_import' },
            { id: 'energy_export', kind: 'energy_export' },
            { id: 'voltage_l1', kind: 'voltage' },
            { id: 'current_l1', kind: 'current' },
            { id: 'power', kind: 'active_power' },
            { id: 'power_l1', kind: 'active_power' },
            { id: 'frequency', kind: 'frequency' },
          ],
        },
        {
          id: 'umg',
          protocol: 'modbus',
          profile: 'umg604',
          connection: conn(4),
          points: [
            { id: 'voltage_l1', kind: 'voltage' },
            { id: 'current_l1', kind: 'current' },
            { id: 'reactive_power_l1', kind: 'reactive_power' },
            { id: 'power', kind: 'active_power' },
            { id: 'frequency', kind: 'frequency' },
            { id: 'energy_import', kind: 'energy_import', register: 'energy_consumption' },
            { id: 'energy_export', kind: 'energy_export', register: 'energy_production' },
          ],
        },
      ],
    });
    const gw = new Gateway(cfg, new Hub());
    try {
      const out = await gw.pollOnce();
      const v = Object.fromEntries(
        out.readings.map((r) => [r.pointId.slice('interop/'.length), [r.value, r.quality]]),
      );
      expect(v).toEqual({
        'sdm/voltage_l1': [Math.fround(230.1), 'good'],
        'sdm/power': [-1523.75, 'good'],
        'sdm/frequency': [Math.fround(49.98), 'good'],
        'sdm/energy_import': [Math.fround(12345.678) * 1000, 'good'],
        'em24/voltage_l1': [230.1, 'good'],
        'em24/current_l1': [12.345, 'good'],
        'em24/power_l2': [-7000, 'good'],
        'em24/power': [-432.1, 'good'],
        'em24/power_factor': [-0.985, 'good'],
        'em24/frequency': [50, 'good'],
        'em24/energy_import': [12_345_600, 'good'],
        'em24/energy_export': [214_748_364_700, 'good'],
        'abb/energy_import': [98_765_432_100, 'good'],
        'abb/energy_export': [null, 'bad'],
        'abb/voltage_l1': [230.5, 'good'],
        'abb/current_l1': [12.34, 'good'],
        'abb/power': [-2500.75, 'good'],
        'abb/power_l1': [null, 'bad'],
        'abb/frequency': [50.02, 'good'],
        'umg/voltage_l1': [Math.fround(230.4), 'good'],
        'umg/current_l1': [7.5, 'good'],
        'umg/reactive_power_l1': [-12.25, 'good'],
        'umg/power': [-3456.5, 'good'],
        'umg/frequency': [Math.fround(49.95), 'good'],
        'umg/energy_import': [8_765_432, 'good'],
        'umg/energy_export': [1_234_567, 'good'],
      });
      expect(out.errors).toEqual([
        'abb/energy_export: not-implemented marker 0xffffffffffffffff',
        'abb/power_l1: not-implemented marker 0x7fffffff',
      ]);
    } finally {
      await gw.stop();
    }
  });
});
