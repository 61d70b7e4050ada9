import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationPlan } from '../market/activation.js';
import {
  type Rig,
  schoolDevice,
  schoolHeatPump,
  schoolHeatPumpAsset,
  schoolSite,
  startSchoolRig,
  until,
} from '../market/runtime/testing.js';
import type { Site } from '../model/index.js';
import { rigMarketDispatch } from './testing.js';

/**
 * The market's executor as `gridflex run` builds it from the configuration, on a simulated
 * school's heat pump over real OPC UA (its zone thermostat's setpoint on the BMS) through the
 * gateway's safety layer, simulator at 20×: an up activation lets the zone coast (setpoint to
 * the bottom of the comfort band), and the end puts the setpoint back.
 */
const SITE = 'coast';
const MIN = 60_000;
let rig: Rig;

const site: Site = schoolSite(SITE, 'Coasting school', [schoolHeatPumpAsset(SITE, { minC: 20, maxC: 22.5 })]);

const POWER = `${SITE}/school-bms/main-heat-pump-power`;

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'heat pump market rig' }, [schoolHeatPump(21.5)], {
    devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
    // Steady values repeated every 20 s of simulated time (1 s here): see gateway/README.md.
    point: (d, p) => (d.id === 'school-bms' ? { ...p, maxSilence: '20s' } : p),
  });
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const zone = () => schoolDevice(rig, 'heat-pump', 'heat_pump');

describe('the market moves the configuration’s heat pump by coasting', () => {
  it('lowers the setpoint to the bottom of the band for an up activation, keeps the zone in it, and puts it back', async () => {
    // Mid-way through a heating cycle: the thermostat (21.5 ± 0.5 °C) heats at full power until
    // the zone passes 22 °C. (A zone below 21 °C could not coast: lowering the setpoint no
    // further than the band allows, 20.5 °C, its thermostat would keep heating to 21 °C.)
    zone().indoorC = 21.2;
    zone().heating = true;
    await until('the heat pump running', () => (rig.latest.get(POWER)?.value ?? 0) > 30_000, 30_000);
    const dispatch = rigMarketDispatch(rig, site, { heatPumpMean: { tauMs: 60 * MIN, minSpanMs: MIN } });
    const executor = dispatch.executor;
    try {
      // A minute of its draw (40 kW, repeated as it holds) before the market may size it.
      const from = rig.clock();
      const seen = rig.history(POWER).length;
      await until(
        'a minute of heat pump readings',
        () => rig.clock() - from > 1.5 * MIN && rig.history(POWER).length > seen + 1,
        30_000,
      );
      const now = rig.clock();
      const plan: ActivationPlan = {
        id: 'coast-up',
        productId: 'mfrr',
        direction: 'up',
        startMs: now,
        fullByMs: now + 750_000,
        endMs: now + 30 * MIN,
        kw: 10,
        sites: [{ siteId: SITE, kw: 10 }],
        warnings: [],
      };
      // Not offered while the zone is too cold to coast (at 20.9 °C the thermostat at 20.5 ± 0.5
      // would keep heating): the activation finds nothing to move.
      const warm = zone().indoorC;
      zone().indoorC = 20.9;
      await until(
        'the cold zone read',
        () => (rig.latest.get(`${SITE}/school-bms/main-temperature`)?.value ?? 99) < 21,
        30_000,
      );
      const cold = await executor.start({ ...plan, id: 'coast-cold' });
      expect(cold.state).toBe('failed');
      expect(cold.sites[0]!.messages.join(' ')).toMatch(/no asset of coast can be moved/);
      zone().indoorC = warm;
      zone().heating = true;
      await until(
        'the warm zone read',
        () => (rig.latest.get(`${SITE}/school-bms/main-temperature`)?.value ?? 0) > 21,
        30_000,
      );
      const up = await executor.start(plan);
      expect(up.sites[0]!.messages).toEqual([]);
      expect(up.state).toBe('active');
      expect(up.sites[0]!.dispatchedKw).toBeCloseTo(10, 6);
      // Coasting: setpoint 20.5 °C (its thermostat then heats only below 20.0, the band's bottom).
      expect(zone().ctl.setpointC).toBe(20.5);
      await until('the heat pump off', () => (rig.latest.get(POWER)?.value ?? 1) === 0, 30_000);
      expect(dispatch.heldBy(SITE, 'school-bms')).toBe('coast-up');
      await executor.stop('coast-up', 'test over');
      await until('the activation done', () => executor.status('coast-up')?.state === 'done', 60_000);
      expect(zone().ctl.setpointC).toBe(21.5);
      const temperatures = rig.history(`${SITE}/school-bms/main-temperature`).map((r) => r.value);
      expect(Math.min(...temperatures)).toBeGreaterThanOrEqual(20);
    } finally {
      dispatch.close();
    }
  }, 120_000);
});
