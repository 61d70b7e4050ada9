import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rig, startSchoolRig } from '../market/runtime/testing.js';
import { type Site, SiteSchema } from '../model/index.js';
import {
  GatewaySetpointSink,
  type LiveEvent,
  LiveLoop,
  optimize,
  profileForecaster,
  SOLVERS,
} from '../optimizer/index.js';
import type { PriceProvider } from '../optimizer/live-prices.js';

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

const site: Site = SiteSchema.parse({
  id: SITE,
  name: 'Heated school',
  location: { lat: 61.06, lon: 28.19 },
  timezone: 'Europe/Helsinki',
  grid: { importLimitKw: 200, exportLimitKw: 0 },
  buildings: [
    {
      id: 'school',
      name: 'School',
      kind: 'school',
      devices: [],
      assets: [
        {
          id: 'heat-pump',
          type: 'thermal',
          maxKw: 40,
          cop: 3.5,
          capacitanceKwhPerK: 300,
          resistanceKPerKw: 0.25,
          minC: MIN_C,
          maxC: MAX_C,
          hysteresisC: 1,
          measure: {
            temperature: `${SITE}/school-bms/main-temperature`,
            power: `${SITE}/school-bms/main-heat-pump-power`,
          },
          control: { setpoint: `${SITE}/school-bms/main-setpoint` },
        },
      ],
    },
  ],
});

beforeAll(async () => {
  rig = await startSchoolRig(
    { id: SITE, name: 'heat pump rig' },
    [
      {
        id: 'heat-pump',
        type: 'heat_pump',
        zone: 'main',
        maxKw: 40,
        cop: 3.5,
        capacitanceKwhPerK: 300,
        resistanceKPerKw: 0.25,
        setpointC: 21,
        bandC: 1,
      },
    ],
    { devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter' },
  );
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const zone = () => {
  const d = rig.sim.sim.building('school')!.device('heat-pump')!;
  if (d.type !== 'heat_pump') throw new Error('not a heat pump');
  return d;
};

describe('the live optimiser moves the heat pump by its zone setpoint', () => {
  it('pre-heats while cheap, coasts while dear, and the zone stays in its comfort band', async () => {
    // Cheap for the next half hour and dear after; then, at the second plan, the reverse.
    let dearNow = false;
    const prices: PriceProvider = async (_start, slots) => ({
      import: Array.from({ length: slots }, (_, t) => (t < 2 !== dearNow ? 0.05 : 0.5)),
      export: Array(slots).fill(0),
      currency: 'EUR',
    });
    const ticks = new Subject<number>();
    const loop = new LiveLoop({
      site,
      readings$: rig.hub.readings$,
      clock: rig.clock,
      forecast: profileForecaster(site, { meanLoadKw: 40, outdoorC: 0 }),
      prices,
      ticks$: ticks,
      solve: (request) => optimize(request.problem, SOLVERS.highs),
      budgetMs: 60_000,
      sink: new GatewaySetpointSink((r) => rig.gateway.write(r), { clock: rig.clock }),
      writes$: rig.hub.topic('writes'),
      refreshMs: 0,
      // The safety layer's rate limit is 5 s on the gateway's clock, 250 ms here at 20×.
      minDispatchGapMs: 400,
    }).start();
    const dispatch = () =>
      firstValueFrom(
        loop.events$.pipe(
          filter((e): e is Extract<LiveEvent, { kind: 'dispatch' }> => e.kind === 'dispatch'),
          timeout(60_000),
        ),
      );
    try {
      // The first zone temperature read plans (the state is complete) and dispatches.
      const first = await dispatch();
      const sp = first.setpoints.find((s) => s.assetId === 'heat-pump')!;
      expect(sp.kw).toBeGreaterThanOrEqual(20);
      expect(first.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/main-setpoint`, MAX_C - 0.5, 'written'],
      ]);
      expect(zone().ctl.setpointC).toBe(MAX_C - 0.5);

      dearNow = true;
      const coasting = dispatch();
      ticks.next(1);
      const second = await coasting;
      expect(second.setpoints.find((s) => s.assetId === 'heat-pump')!.kw).toBeLessThan(20);
      expect(second.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/main-setpoint`, MIN_C + 0.5, 'written'],
      ]);
      expect(zone().ctl.setpointC).toBe(MIN_C + 0.5);
      // Coasting, the thermostat is off; the zone never left the band meanwhile.
      const temperatures = rig.history(`${SITE}/school-bms/main-temperature`).map((r) => r.value);
      expect(Math.min(...temperatures)).toBeGreaterThanOrEqual(MIN_C);
      expect(Math.max(...temperatures)).toBeLessThanOrEqual(MAX_C);
    } finally {
      await loop.stop();
    }
  }, 120_000);
});
