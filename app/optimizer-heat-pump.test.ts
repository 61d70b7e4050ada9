import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Rig,
  schoolDevice,
  schoolHeatPump,
  schoolHeatPumpAsset,
  schoolSite,
  startSchoolRig,
} from '../market/runtime/testing.js';
import type { PriceProvider } from '../optimizer/live-prices.js';
import { liveLoopOnRig } from './testing.js';

/**
 * The live optimiser moving a simulated school's heat pump through its zone thermostat (BMS
 * setpoint over real OPC UA, the gateway's safety layer; simulator at 20×): it pre-heats to
 * the top of the comfort band while electricity is cheap and lets the zone coast towards its
 * bottom while it is dear, never outside the band.
 */
const SITE = 'warm';
const MIN_C = 20;
const MAX_C = 22;
let rig: Rig;

const site = schoolSite(SITE, 'Heated school', [schoolHeatPumpAsset(SITE, { minC: MIN_C, maxC: MAX_C })]);

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'heat pump rig' }, [schoolHeatPump(21)], {
    devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
  });
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

describe('the live optimiser moves the heat pump by its zone setpoint', () => {
  it('pre-heats while cheap, coasts while dear, and the zone stays in its comfort band', async () => {
    // Cheap for the next half hour and dear after; then, at the second plan, the reverse.
    let dearNow = false;
    const prices: PriceProvider = async (_start, slots) => ({
      import: Array.from({ length: slots }, (_, t) => (t < 2 !== dearNow ? 0.05 : 0.5)),
      export: Array(slots).fill(0),
      currency: 'EUR',
    });
    const { loop, ticks, next } = liveLoopOnRig(rig, site, prices, { outdoorC: 0 });
    const zone = () => schoolDevice(rig, 'heat-pump', 'heat_pump');
    try {
      // The first zone temperature read plans (the state is complete) and dispatches.
      const first = await next('dispatch');
      const sp = first.setpoints.find((s) => s.assetId === 'heat-pump')!;
      expect(sp.kw).toBeGreaterThanOrEqual(20);
      expect(first.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/main-setpoint`, MAX_C - 0.5, 'written'],
      ]);
      expect(zone().ctl.setpointC).toBe(MAX_C - 0.5);

      dearNow = true;
      const coasting = next('dispatch');
      ticks.next(1);
      const second = await coasting;
      expect(second.setpoints.find((s) => s.assetId === 'heat-pump')!.kw).toBeLessThan(20);
      expect(second.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/main-setpoint`, MIN_C + 0.5, 'written'],
      ]);
      expect(zone().ctl.setpointC).toBe(MIN_C + 0.5);
      // The zone never left the band meanwhile.
      const temperatures = rig.history(`${SITE}/school-bms/main-temperature`).map((r) => r.value);
      expect(Math.min(...temperatures)).toBeGreaterThanOrEqual(MIN_C);
      expect(Math.max(...temperatures)).toBeLessThanOrEqual(MAX_C);
    } finally {
      await loop.stop();
    }
  }, 120_000);
});
