import { describe, expect, it } from 'vitest';
import {
  BatteryAssetSchema,
  commandsFor,
  HeatPumpAssetSchema,
  headroomKw,
  toDispatchAsset,
} from './assets.js';

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

describe('battery under a command lease', () => {
  it('writes the lease to the revert timeout first, then the rates and the mode', () => {
    const battery = BatteryAssetSchema.parse({
      kind: 'battery',
      id: 'battery',
      siteId: 's',
      device: 'inv',
      modePoint: 'mode',
      chargePoint: 'charge_rate',
      dischargePoint: 'discharge_rate',
      revertPoint: 'revert_timeout',
      revertS: 45,
      ratedKw: 10,
      maxChargeKw: 10,
      maxDischargeKw: 10,
      storedKwh: 15,
      maxKwh: 20,
    });
    // 5 kW up from an idle base: discharge at 50 %.
    expect(commandsFor(battery, 5).commands.map((c) => [c.point, c.value])).toEqual([
      ['revert_timeout', 45],
      ['charge_rate', 0],
      ['discharge_rate', 50],
      ['mode', 3],
    ]);
    expect(BatteryAssetSchema.safeParse({ ...battery, revertS: 0 }).error?.issues[0]?.path).toEqual([
      'revertS',
    ]);
  });
});
