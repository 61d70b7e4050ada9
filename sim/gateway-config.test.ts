import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { Gateway, GatewayConfigSchema } from '../gateway/index.js';
import { Hub } from '../stream/index.js';
import { plannedEndpoints } from './endpoints.js';
import { gatewayConfigFor } from './gateway-config.js';
import { startModbusServer } from './modbus/server.js';
import type { BatteryDevice } from './physics/building.js';
import { Simulation } from './physics/simulation.js';
import { loadScenario } from './scenario.js';
import { freePort } from './testing.js';

describe('generated gateway file', () => {
  it.each(['zev-bern', 'lappeenranta'])('is a valid gateway file for %s', async (name) => {
    const scenario = await loadScenario(name);
    const sim = new Simulation(scenario, { seed: 1, startMs: 0 });
    const cfg = validateConfig(
      GatewayConfigSchema,
      gatewayConfigFor(sim, plannedEndpoints(scenario, '127.0.0.1', 5020)),
      name,
    );
    expect(cfg.devices.filter((d) => d.protocol === 'opcua')).toHaveLength(scenario.buildings.length);
  });

  it('lets the real gateway read every simulated Modbus device, with values matching the physics', async () => {
    const scenario = await loadScenario('zev-bern');
    const sim = new Simulation(scenario, { seed: 2, startMs: Date.parse('2026-06-21T10:00:00Z') });
    sim.advanceBy(120);
    const port = await freePort();
    const server = await startModbusServer(sim, { host: '127.0.0.1', port });
    const hub = new Hub();
    const generated = gatewayConfigFor(sim, plannedEndpoints(scenario, '127.0.0.1', port)) as {
      devices: { protocol: string }[];
    };
    const cfg = validateConfig(
      GatewayConfigSchema,
      { ...generated, devices: generated.devices.filter((d) => d.protocol === 'modbus') },
      'zev-bern (Modbus only)',
    );
    const gw = new Gateway(cfg, hub);
    try {
      const out = await gw.pollOnce();
      expect(out.errors).toEqual([]);
      const value = (id: string) => out.readings.find((r) => r.pointId === `zev-bern/${id}`)?.value;
      const house = sim.buildings[0]!;
      expect(value('house-grid-meter/power')).toBeCloseTo(house.gridMeter.powerW, 0);
      expect(value('house-grid-meter/frequency')).toBeCloseTo(sim.frequencyHz(), 2);
      expect(value('house-pv/power')).toBe(-Math.round(house.device('pv')!.meter.powerW / 10) * 10);
      const battery = house.device('battery') as BatteryDevice;
      expect(value('house-battery/soc')).toBeCloseTo((battery.storedWh / 20_000) * 100, 1);
      expect(value('house-heat-pump/power')).toBeCloseTo(house.device('heat-pump')!.meter.powerW, -1);
      expect(out.readings.every((r) => r.quality === 'good')).toBe(true);
    } finally {
      await gw.stop();
      hub.close();
      await server.close();
    }
  });
});
