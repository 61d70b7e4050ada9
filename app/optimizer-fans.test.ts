import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ahuFans, type Rig, startSchoolRig } from '../market/runtime/testing.js';
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
 * The live optimiser moving a simulated school's ventilation fans over real OPC UA through the
 * gateway's safety layer (simulator at 20×): slowed while electricity is dear, never longer
 * than the occupants accept, and back at their normal speed when it is cheap.
 */
const SITE = 'vent';
let rig: Rig;

const site: Site = SiteSchema.parse({
  id: SITE,
  name: 'Ventilated school',
  location: { lat: 61.06, lon: 28.19 },
  timezone: 'Europe/Helsinki',
  grid: { importLimitKw: 200, exportLimitKw: 0 },
  buildings: [
    {
      id: 'school',
      name: 'School',
      kind: 'school',
      devices: [],
      assets: [1, 2].map((n) => ({
        id: `ahu-${n}`,
        type: 'sheddable',
        // 3.7 kW fans at their normal 70 %: 3.7 × 0.7³ = 1.27 kW; shed at most 60 %, 30 minutes.
        nominalKw: 1.27,
        ratedKw: 3.7,
        maxShedFraction: 0.6,
        maxShedMinutes: 30,
        costPerKwh: 0.05,
        minSpeedPct: 40,
        measure: { power: `${SITE}/school-bms/ahu-${n}-power` },
        control: { speed: `${SITE}/school-bms/ahu-${n}-speed` },
      })),
    },
  ],
});

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'ventilation rig' }, [ahuFans(2)], {
    devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
  });
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const simFan = (n: number) => {
  const d = rig.sim.sim.building('school')!.device(`ahu-${n}`)!;
  if (d.type !== 'sheddable') throw new Error('not a fan');
  return d;
};

describe('the live optimiser moves the fans', () => {
  it('slows them to their shed floor while electricity is dear, and puts them back at normal when it is cheap', async () => {
    // Dear for the next half hour, less so after; then, at the second plan, cheap throughout.
    let cheap = false;
    const prices: PriceProvider = async (_start, slots) => ({
      import: Array.from({ length: slots }, (_, t) => (cheap ? 0.01 : t < 2 ? 0.5 : 0.3)),
      export: Array(slots).fill(0),
      currency: 'EUR',
    });
    const ticks = new Subject<number>();
    const loop = new LiveLoop({
      site,
      readings$: rig.hub.readings$,
      clock: rig.clock,
      forecast: profileForecaster(site, { meanLoadKw: 40 }),
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
    const next = (kind: LiveEvent['kind']) =>
      firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === kind),
          timeout(60_000),
        ),
      );
    try {
      const planned = next('plan');
      const dispatched = next('dispatch');
      ticks.next(0);
      const plan = (await planned) as Extract<LiveEvent, { kind: 'plan' }>;
      // The plan keeps each fan shed at most 30 minutes in any 45 (three slots).
      const shed = (plan.plan.schedule.assets['ahu-1'] as { shedKw: number[] }).shedKw;
      for (let t = 0; t + 2 < shed.length; t++)
        expect(shed[t]! + shed[t + 1]! + shed[t + 2]!).toBeLessThanOrEqual(2 * 0.6 * 1.27 + 1e-6);
      expect(shed[0]).toBeCloseTo(0.6 * 1.27, 6);
      const first = (await dispatched) as Extract<LiveEvent, { kind: 'dispatch' }>;
      // 40 % of 1.27 kW on a 3.7 kW fan: cbrt(0.508 / 3.7) = 51.6 %.
      expect(first.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/ahu-1-speed`, 51.6, 'written'],
        [`${SITE}/school-bms/ahu-2-speed`, 51.6, 'written'],
      ]);
      expect([simFan(1).setpointPct, simFan(2).setpointPct]).toEqual([51.6, 51.6]);

      cheap = true;
      const back = next('dispatch');
      ticks.next(1);
      const second = (await back) as Extract<LiveEvent, { kind: 'dispatch' }>;
      // Shedding costs more than it saves: normal speed, cbrt(1.27 / 3.7) = 70.0 %.
      expect(second.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
        [`${SITE}/school-bms/ahu-1-speed`, 70, 'written'],
        [`${SITE}/school-bms/ahu-2-speed`, 70, 'written'],
      ]);
      expect([simFan(1).setpointPct, simFan(2).setpointPct]).toEqual([70, 70]);
    } finally {
      await loop.stop();
    }
  }, 120_000);
});
