import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ahuFans,
  type Rig,
  schoolDevice,
  schoolFanAssets,
  schoolSite,
  startSchoolRig,
} from '../market/runtime/testing.js';
import type { PriceProvider } from '../optimizer/live-prices.js';
import { liveLoopOnRig } from './testing.js';

/**
 * The live optimiser moving a simulated school's ventilation fans over real OPC UA through the
 * gateway's safety layer (simulator at 20×): slowed while electricity is dear, never longer
 * than the occupants accept, and back at their normal speed when it is cheap.
 */
const SITE = 'vent';
let rig: Rig;

// Shed at most 60 % of 1.27 kW, at most 30 minutes at a time; a shed kWh costs 0.05.
const site = schoolSite(
  SITE,
  'Ventilated school',
  schoolFanAssets(SITE, 2, () => ({ maxShedMinutes: 30, costPerKwh: 0.05 })),
);

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'ventilation rig' }, [ahuFans(2)], {
    devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
  });
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const speeds = () => [1, 2].map((n) => schoolDevice(rig, `ahu-${n}`, 'sheddable').setpointPct);

describe('the live optimiser moves the fans', () => {
  it('slows them to their shed floor while electricity is dear, and puts them back at normal when it is cheap', async () => {
    // Dear for the next half hour, less so after; then, at the second plan, cheap throughout.
    let cheap = false;
    const prices: PriceProvider = async (_start, slots) => ({
      import: Array.from({ length: slots }, (_, t) => (cheap ? 0.01 : t < 2 ? 0.5 : 0.3)),
      export: Array(slots).fill(0),
      currency: 'EUR',
    });
    const { loop, ticks, next } = liveLoopOnRig(rig, site, prices);
    try {
      const planned = next('plan');
      const dispatched = next('dispatch');
      ticks.next(0);
      const plan = await planned;
      // The plan keeps each fan shed at most 30 minutes in any 45 (three slots).
      const shed = (plan.plan.schedule.assets['ahu-1'] as { shedKw: number[] }).shedKw;
      for (let t = 0; t + 2 < shed.length; t++)
        expect(shed[t]! + shed[t + 1]! + shed[t + 2]!).toBeLessThanOrEqual(2 * 0.6 * 1.27 + 1e-6);
      expect(shed[0]).toBeCloseTo(0.6 * 1.27, 6);
      const first = await dispatched;
      // 40 % of 1.27 kW on a 3.7 kW fan: cbrt(0.508 / 3.7) = 51.6 %.
      expect(first.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/ahu-1-speed`, 51.6, 'written'],
        [`${SITE}/school-bms/ahu-2-speed`, 51.6, 'written'],
      ]);
      expect(speeds()).toEqual([51.6, 51.6]);

      cheap = true;
      const back = next('dispatch');
      ticks.next(1);
      const second = await back;
      // Shedding costs more than it saves: normal speed, cbrt(1.27 / 3.7) = 70.0 %.
      expect(second.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/ahu-1-speed`, 70, 'written'],
        [`${SITE}/school-bms/ahu-2-speed`, 70, 'written'],
      ]);
      expect(speeds()).toEqual([70, 70]);
    } finally {
      await loop.stop();
    }
  }, 120_000);
});
