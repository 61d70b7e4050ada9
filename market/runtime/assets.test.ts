import { describe, expect, it } from 'vitest';
import { commandsFor, HeatPumpAssetSchema, headroomKw, toDispatchAsset } from './assets.js';

const pump = {
  kind: 'heat_pump',
  id: 'hp',
  siteId: 's',
  device: 'bms',
  setpointPoint: 'main-setpoint',
  baseSetpointC: 21,
  coastSetpointC: 20.1,
  bandC: 0.1,
  comfortMinC: 20,
  meanKw: 24,
};

describe('heat pump coasting asset', () => {
  it('refuses a coast setpoint whose switch-on point is under the comfort limit, naming the field', () => {
    const r = HeatPumpAssetSchema.safeParse({ ...pump, coastSetpointC: 20.02 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['coastSetpointC']);
    expect(r.error?.issues[0]?.message).toMatch(/below comfortMinC/);
  });

  it('coasts for any change up, returns to its setpoint for none, and offers nothing down', () => {
    const hp = HeatPumpAssetSchema.parse(pump);
    expect(commandsFor(hp, 5)).toEqual({
      commands: [{ device: 'bms', point: 'main-setpoint', value: 20.1 }],
      kw: 24,
    });
    expect(commandsFor(hp, 0)).toEqual({
      commands: [{ device: 'bms', point: 'main-setpoint', value: 21 }],
      kw: 0,
    });
    expect(headroomKw(hp, 'up')).toBe(24);
    expect(headroomKw(hp, 'down')).toBe(0);
    expect(toDispatchAsset(hp, 'up').energyKwh).toBeUndefined();
  });
});
