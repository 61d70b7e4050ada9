import { describe, expect, it } from 'vitest';
import { packageRoot } from '../config/version.js';
import { loadGridflexConfig } from './config.js';
import {
  COMMAND_SETTLE_MS,
  type CommandsSeen,
  commandedBatteryKw,
  movableBatteries,
} from './market-executor.js';

/**
 * A battery's base when an activation starts: its command when that is newer than its latest
 * power reading (the reading is a poll behind), else the reading. Seen in app/lease.e2e.test.ts:
 * the battery discharged at 10 kW on its own control, the optimiser had just set it idle, the
 * 5-s poll still said −10 kW, and a 5 kW "up" activation found no headroom and failed.
 */
const { site } = (await loadGridflexConfig(`${packageRoot()}/deploy/examples/gridflex.yaml`)).sites[0]!;
const [m] = movableBatteries(site);

const seen = (
  writes: Record<string, readonly [number, number]>,
  powerTs: number | undefined,
): CommandsSeen => ({
  written: (k) => (writes[k] ? { value: writes[k]![0], ts: writes[k]![1] } : undefined),
  readingTs: (k) => (k === 'zev-bern/house-battery/power' ? powerTs : undefined),
});

describe('a battery base from its last command', () => {
  it('takes the command when it is newer than the power reading', () => {
    const idle = {
      'zev-bern/house-battery/mode': [3, 1000],
      'zev-bern/house-battery/charge_rate': [0, 1000],
      'zev-bern/house-battery/discharge_rate': [0, 1000],
    } as const;
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...idle }, 900))).toBe(0);
    const charging = {
      'zev-bern/house-battery/mode': [3, 1000],
      'zev-bern/house-battery/charge_rate': [40, 1000],
      'zev-bern/house-battery/discharge_rate': [0, 990],
    } as const;
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...charging }, undefined))).toBe(4);
    const discharging = {
      'zev-bern/house-battery/mode': [3, 1000],
      'zev-bern/house-battery/charge_rate': [0, 1000],
      'zev-bern/house-battery/discharge_rate': [75, 1000],
    } as const;
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...discharging }, 999))).toBe(-7.5);
  });

  it('keeps the reading once it is well after the command, when the battery was handed back, or when nothing was written', () => {
    const idle = {
      'zev-bern/house-battery/mode': [3, 1000],
      'zev-bern/house-battery/charge_rate': [0, 1000],
      'zev-bern/house-battery/discharge_rate': [0, 1000],
    } as const;
    // A reading in the seconds after the command may still show the old power: the command stands.
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...idle }, 1000))).toBe(0);
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...idle }, 1000 + COMMAND_SETTLE_MS - 1))).toBe(0);
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...idle }, 1000 + COMMAND_SETTLE_MS))).toBeUndefined();
    const released = {
      'zev-bern/house-battery/mode': [0, 1000],
      'zev-bern/house-battery/charge_rate': [0, 1000],
      'zev-bern/house-battery/discharge_rate': [0, 1000],
    } as const;
    expect(commandedBatteryKw('zev-bern', m!, seen({ ...released }, 500))).toBeUndefined();
    expect(
      commandedBatteryKw('zev-bern', m!, seen({ 'zev-bern/house-battery/mode': [3, 1000] }, 500)),
    ).toBeUndefined();
    expect(commandedBatteryKw('zev-bern', m!, {})).toBeUndefined();
  });
});
