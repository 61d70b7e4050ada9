import { describe, expect, it } from 'vitest';
import { type Asset, AssetSchema } from '../model/index.js';
import { command } from './drivers.js';
import { SetpointMemory } from './setpoint-memory.js';

const battery: Asset = AssetSchema.parse({
  id: 'battery',
  type: 'battery',
  capacityKwh: 20,
  maxChargeKw: 10,
  maxDischargeKw: 10,
  control: { mode: 's/inv/mode', charge_rate: 's/inv/charge_rate', discharge_rate: 's/inv/discharge_rate' },
});
const fan: Asset = AssetSchema.parse({
  id: 'fan',
  type: 'sheddable',
  nominalKw: 4,
  maxShedFraction: 0.5,
  control: { speed: 's/ahu/speed' },
});

/** Record every write of a command as accepted at `ts`. */
const accept = (m: SetpointMemory, writes: { point: string; value: number }[], ts: number) => {
  for (const w of writes) m.observe({ key: w.point, value: w.value, outcome: 'written', ts });
};

describe('setpoint memory: deadband and fail-safe lease', () => {
  it('writes only values that moved past their deadband; to or from 0 always counts', () => {
    const m = new SetpointMemory();
    const first = m.due(battery, command(battery, 2.5), 0);
    expect(first.writes.map((w) => w.value)).toEqual([0, 25, 3]);
    accept(m, first.writes, 0);
    // 2.52 kW is 25.2 %: within the rate's 0.5 % deadband.
    expect(m.due(battery, command(battery, 2.52), 5_000).writes).toEqual([]);
    expect(m.due(battery, command(battery, 3), 5_000).writes).toEqual([
      { point: 's/inv/charge_rate', value: 30 },
    ]);
    // Discharging: the charge rate falls to 0 and the discharge rate rises; the mode stays 3.
    expect(m.due(battery, command(battery, -0.03), 5_000).writes).toEqual([
      { point: 's/inv/charge_rate', value: 0 },
      { point: 's/inv/discharge_rate', value: 0.3 },
    ]);
    const f = new SetpointMemory({ pointDeadbands: { 's/ahu/speed': 5 } });
    accept(f, command(fan, 4).writes, 0);
    expect(f.due(fan, command(fan, 3.7), 0).writes).toEqual([]);
  });

  it('renews a SunSpec lease once half its timeout has passed, with the value that carries the command', () => {
    const m = new SetpointMemory();
    accept(m, command(battery, -4).writes, 0);
    expect(m.due(battery, command(battery, -4), 29_000)).toMatchObject({ writes: [], lease: false });
    expect(m.due(battery, command(battery, -4), 30_000)).toEqual({
      writes: [{ point: 's/inv/discharge_rate', value: 40 }],
      lease: true,
      failSafeS: 60,
    });
    // A plain setpoint holds until rewritten, unless its fail-safe is configured.
    accept(m, command(fan, 3).writes, 0);
    expect(m.due(fan, command(fan, 3), 3_600_000).writes).toEqual([]);
    const leased = new SetpointMemory({ failSafeS: { fan: 120 } });
    accept(leased, command(fan, 3).writes, 0);
    expect(leased.due(fan, command(fan, 3), 60_000).lease).toBe(true);
  });

  it("writes an asset's configured lease to its revert timeout once, and renews the command within it", () => {
    const leased = AssetSchema.parse({
      ...battery,
      lease: { revertS: 45 },
      control: { ...battery.control, revert_timeout: 's/inv/revert' },
    });
    const m = new SetpointMemory();
    const first = m.due(leased, command(leased, -4, { revertS: 45 }), 0);
    // The timeout first: the lease covers the rates and the mode that follow.
    expect(first.writes[0]).toEqual({ point: 's/inv/revert', value: 45 });
    accept(m, first.writes, 0);
    expect(m.due(leased, command(leased, -4, { revertS: 45 }), 22_000).writes).toEqual([]);
    expect(m.due(leased, command(leased, -4, { revertS: 45 }), 22_500)).toEqual({
      writes: [{ point: 's/inv/discharge_rate', value: 40 }],
      lease: true,
      failSafeS: 45,
    });
  });

  it("learns other writers' values, ignores refusals, and forgets a device another writer held", () => {
    const m = new SetpointMemory();
    accept(m, command(battery, 0).writes, 0);
    m.observe({ key: 's/inv/charge_rate', value: 50, outcome: 'written', ts: 1_000 });
    expect(m.due(battery, command(battery, 0), 2_000).writes).toEqual([
      { point: 's/inv/charge_rate', value: 0 },
    ]);
    m.observe({ key: 's/inv/charge_rate', value: 0, outcome: 'failed', ts: 3_000 });
    expect(m.lastValue('s/inv/charge_rate')).toBe(50);
    m.observe({ key: 's/inv/mode', value: null, outcome: 'refused', refusal: 'held', ts: 4_000 });
    expect(m.lastValue('s/inv/charge_rate')).toBeUndefined();
    expect(m.due(battery, command(battery, 0), 5_000).writes).toHaveLength(3);
  });
});
