import { BehaviorSubject, filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { listPoints, type Reading, type Site, SiteSchema } from '../model/index.js';
import type { BatteryDevice } from '../sim/physics/building.js';
import type { Store } from '../store/index.js';
import { testBackends } from '../store/testing.js';
import { battery20, bernSite, house, PV_30KWP } from '../testkit/sites.js';
import { ForecastStore } from './forecast-store.js';
import {
  gridPowerPoints,
  type LiveEvent,
  LiveLoop,
  type LiveLoopOptions,
  type LiveState,
  liveState$,
  materiallyChanged,
  obligationLimits,
  profileForecaster,
  storeForecaster,
  type Tariff,
  tariffPrices,
  whyText,
} from './live.js';
import { migrateOptimizer, PlanRepository } from './plan-store.js';
import { SolveWorker } from './pool.js';
import type { Plan, PlanRequest } from './replan.js';
import { sitePlanner } from './replan.js';
import { GatewaySetpointSink, pointWrites } from './setpoint-sink.js';
import { zevBernBatteryGateway } from './testing.js';

const bern = (over: Partial<Site> = {}): Site =>
  SiteSchema.parse(
    bernSite({
      id: 'zev-bern',
      grid: { importLimitKw: 80, exportLimitKw: 30 },
      buildings: [
        {
          ...house(
            [],
            [
              battery20({
                measure: { soc: 'zev-bern/house-battery/soc', power: 'zev-bern/house-battery/power' },
                control: {
                  mode: 'zev-bern/house-battery/mode',
                  charge_rate: 'zev-bern/house-battery/charge_rate',
                  discharge_rate: 'zev-bern/house-battery/discharge_rate',
                },
              }),
              PV_30KWP,
            ],
          ),
          name: 'house',
          kind: 'apartment_block',
        },
      ],
      ...over,
    }),
  );

const pglite = testBackends.find((b) => !b.skipReason)!;

/** Cheap before 06:00 local, dear after: a plan starting at 04:00 charges the battery now. */
const nightCheap: Tariff = {
  currency: 'CHF',
  import: { otherPerKwh: 0.4, windows: [{ fromHour: 0, toHour: 6, perKwh: 0.1 }] },
  exportPerKwh: 0.05,
};

/**
 * A loop on `bern()` at the fixed time `start`, with no ticks, planning with HiGHS on every
 * change of `readings` or `obligations$`.
 */
const obligationsLoop = (
  readings: Subject<Reading>,
  start: number,
  obligations$: NonNullable<LiveLoopOptions['obligations$']>,
) =>
  new LiveLoop({
    site: bern(),
    readings$: readings,
    clock: () => start,
    forecast: profileForecaster(bern(), { meanLoadKw: 5 }),
    tariff: nightCheap,
    ticks$: new Subject(),
    obligations$,
    refreshMs: 0,
    solve: async (request: PlanRequest) => {
      const { optimize } = await import('./optimize.js');
      const { highsSolver } = await import('./solvers/highs.js');
      return optimize(request.problem, highsSolver);
    },
  }).start();

describe('live loop helpers', () => {
  it('prices a horizon by local time window', () => {
    const start = Date.parse('2026-01-15T04:00:00Z'); // 05:00 in Bern
    const p = tariffPrices(nightCheap, start, 8, 15, 'Europe/Zurich');
    expect(p.import).toEqual([0.1, 0.1, 0.1, 0.1, 0.4, 0.4, 0.4, 0.4]);
    expect(p.export.every((x) => x === 0.05)).toBe(true);
  });

  it('applies an obligation to the slots it overlaps only', () => {
    const start = 1_000 * 900_000;
    const limits = obligationLimits(
      bern(),
      [{ id: 'dr-1', startMs: start + 900_000, endMs: start + 2 * 900_000, importLimitKw: 5 }],
      start,
      3,
      15,
    );
    expect(limits?.importLimitKw).toEqual([80, 5, 80]);
    expect(limits?.exportLimitKw).toEqual([30, 30, 30]);
  });

  it('takes its state by the one freshness policy: an uncertain SoC counts, a value past 10 minutes does not', () => {
    const readings = new Subject<Reading>();
    let now = Date.parse('2026-01-15T03:00:00Z');
    const states: LiveState[] = [];
    liveState$(bern(), readings, () => now).subscribe((st) => states.push(st));
    const soc = (value: number | null, quality: Reading['quality'], ts = now) =>
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts, value, quality });
    soc(40, 'uncertain');
    expect(states.at(-1)?.socPct).toEqual({ battery: 40 });
    // A bad reading is no value and does not refresh the last one.
    now += 5 * 60_000;
    soc(null, 'bad');
    expect(states.at(-1)?.socPct).toEqual({ battery: 40 });
    now += 5 * 60_000 + 1;
    soc(null, 'bad');
    expect(states.at(-1)?.socPct).toEqual({});
    // A late reading from before the policy's window is no state either.
    soc(55, 'good', now - 11 * 60_000);
    expect(states.at(-1)?.socPct).toEqual({});
    soc(101, 'good');
    expect(states.at(-1)?.socPct).toEqual({ battery: 100 });
  });

  it("says why it writes as a sentence in the site's local time", () => {
    const slotMs = 900_000;
    const slot = Date.parse('2026-07-01T12:15:00Z') / slotMs; // 14:15 in Bern (summer time)
    const plan = { slot, source: 'solved' } as Parameters<typeof whyText>[0];
    const at = Date.parse('2026-07-01T12:12:40Z');
    expect(
      whyText(plan, slot, slotMs, at, [{ assetId: 'battery', type: 'battery', kw: 0 }], 'Europe/Zurich'),
    ).toBe('Plan for 14:15–14:30 (solved at 14:12): battery idle');
    expect(
      whyText(
        { ...plan, source: 'previous' },
        slot + 1,
        slotMs,
        at,
        [
          { assetId: 'battery', type: 'battery', kw: -4.04 },
          { assetId: 'ev', type: 'ev_charger', kw: 7.4 },
        ],
        'Europe/Zurich',
      ),
    ).toBe('Plan for 14:30–14:45 (previous plan kept at 14:12): battery discharging 4.0 kW, ev 7.4 kW');
  });

  it('calls a state change material only past the thresholds', () => {
    const m = { socPct: 5, temperatureC: 0.5 };
    const s = { socPct: { b: 50 }, temperatureC: {} };
    expect(materiallyChanged(s, { socPct: { b: 53 }, temperatureC: {} }, m)).toBe(false);
    expect(materiallyChanged(s, { socPct: { b: 56 }, temperatureC: {} }, m)).toBe(true);
    expect(materiallyChanged(null, s, m)).toBe(true);
  });

  it('forecasts base load from the store: grid import + PV output + battery discharge a week before', async () => {
    const dev = (id: string) => ({
      id,
      protocol: 'modbus',
      profile: 'sdm630',
      connection: { transport: 'tcp', host: '127.0.0.1', port: 5020, unitId: 1 },
      points: [{ id: 'power', kind: 'active_power' }],
    });
    const base = bern();
    const site = SiteSchema.parse({
      ...base,
      buildings: [{ ...base.buildings[0]!, devices: [dev('house-grid-meter'), dev('house-battery')] }],
    });
    const store = await pglite.open();
    try {
      await store.readings.describePoints(listPoints([site]));
      const start = Date.parse('2026-01-15T03:00:00Z');
      const week = start - 7 * 86_400_000;
      const at = week + 10 * 900_000 + 60_000;
      await store.readings.ingest([
        { pointId: 'zev-bern/house-grid-meter/power', ts: at, value: 3_000, quality: 'good' },
        { pointId: 'zev-bern/house-battery/power', ts: at, value: 1_000, quality: 'good' },
      ]);
      const f = await storeForecaster(site, new ForecastStore(store.readings), { meanLoadKw: 5 })(
        start,
        96,
        15,
      );
      const profile = await profileForecaster(site, { meanLoadKw: 5 })(start, 96, 15);
      expect(f.baseLoadKw[10]).toBeCloseTo(4, 6);
      expect(f.baseLoadKw[11]).toBeCloseTo(profile.baseLoadKw[11]!, 9);
      // No PV history: the default yield, as the profile forecaster.
      expect(f.pvKw).toEqual(profile.pvKw);
    } finally {
      await store.close();
    }
  });

  it("takes the grid connection's declared point before a device named grid-meter", () => {
    const dev = {
      id: 'house-grid-meter',
      protocol: 'modbus',
      profile: 'sdm630',
      connection: { transport: 'tcp', host: '127.0.0.1', port: 5020, unitId: 1 },
      points: [{ id: 'power', kind: 'active_power' }],
    };
    const base = bern();
    const named = SiteSchema.parse({ ...base, buildings: [{ ...base.buildings[0]!, devices: [dev] }] });
    expect(gridPowerPoints(named)).toEqual(['zev-bern/house-grid-meter/power']);
    const declared = SiteSchema.parse({
      ...named,
      grid: { ...named.grid, measure: { power: 'zev-bern/bms/grid_power' } },
    });
    expect(gridPowerPoints(declared)).toEqual(['zev-bern/bms/grid_power']);
  });

  it('turns a setpoint into point writes by the control bindings', () => {
    const [battery] = bern().buildings[0]!.assets;
    expect(pointWrites(battery!, { assetId: 'battery', type: 'battery', kw: -2.5 }).writes).toEqual([
      { pointId: 'zev-bern/house-battery/charge_rate', value: 0 },
      { pointId: 'zev-bern/house-battery/discharge_rate', value: 25 },
      { pointId: 'zev-bern/house-battery/mode', value: 3 },
    ]);
    const direct = { ...battery!, control: { power: 'zev-bern/inv/p' } };
    expect(pointWrites(direct, { assetId: 'battery', type: 'battery', kw: 1.2345 }).writes).toEqual([
      { pointId: 'zev-bern/inv/p', value: 1235 },
    ]);
    expect(
      pointWrites({ ...battery!, control: {} }, { assetId: 'battery', type: 'battery', kw: 1 }).missing,
    ).toMatch(/no control binding/);
  });

  it('re-plans when the market obligations change, with the obligation as a grid limit', async () => {
    const readings = new Subject<Reading>();
    const obligations = new Subject<
      { id: string; startMs: number; endMs: number; importLimitKw: number }[]
    >();
    const start = Date.parse('2026-01-15T03:00:00Z');
    const loop = obligationsLoop(readings, start, obligations);
    const next = () =>
      firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === 'plan'),
          timeout(30_000),
        ),
      );
    try {
      let plan = next();
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: start, value: 40, quality: 'good' });
      const free = await plan;
      if (free.kind !== 'plan') throw new Error('expected a plan');
      expect(free.plan.schedule.importKw[0]).toBeGreaterThan(4);
      plan = next();
      obligations.next([{ id: 'dr-1', startMs: start, endMs: start + 3_600_000, importLimitKw: 4 }]);
      const capped = await plan;
      if (capped.kind !== 'plan') throw new Error('expected a plan');
      expect(capped.trigger).toBe('market obligations changed');
      expect(Math.max(...capped.plan.schedule.importKw.slice(0, 4))).toBeLessThanOrEqual(4 + 1e-6);
      expect((capped.plan.request.inputs as { obligations: unknown[] }).obligations).toHaveLength(1);
    } finally {
      await loop.stop();
    }
  }, 60_000);

  it('keeps the capacity of an accepted bid free: the obligation becomes an LP reservation', async () => {
    const readings = new Subject<Reading>();
    const start = Date.parse('2026-01-15T03:00:00Z');
    const sold = {
      id: 'fcr-n:2026-01-15T03:00:00.000Z:0',
      startMs: start,
      endMs: start + 2 * 3_600_000,
      reserve: { upKw: 5, downKw: 3, sustainMinutes: 60, product: 'fcr-n' },
    };
    const loop = obligationsLoop(readings, start, new BehaviorSubject([sold]));
    try {
      const planned = firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === 'plan'),
          timeout(30_000),
        ),
      );
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: start, value: 40, quality: 'good' });
      const e = await planned;
      if (e.kind !== 'plan') throw new Error('expected a plan');
      const reservations = e.plan.request.problem.reservations ?? [];
      expect(reservations.map((r) => [r.product, r.sustainMinutes])).toEqual([['fcr-n', 60]]);
      const held = Object.values(e.plan.schedule.reserves ?? {})[0]!;
      const sum = (m: Record<string, number[]>, t: number) =>
        Object.values(m).reduce((a, kw) => a + (kw[t] ?? 0), 0);
      for (let t = 0; t < 8; t++) {
        expect(sum(held.upKw, t), `up held in slot ${t}`).toBeGreaterThanOrEqual(5 - 1e-6);
        expect(sum(held.downKw, t), `down held in slot ${t}`).toBeGreaterThanOrEqual(3 - 1e-6);
      }
      // Outside the sold period nothing is reserved.
      expect((reservations[0]!.upKw as number[]).slice(8).every((kw) => kw === 0)).toBe(true);
    } finally {
      await loop.stop();
    }
  }, 60_000);

  it('re-plans on a material change, keeps the shifted plan past the budget, and waits for state', async () => {
    const readings = new Subject<Reading>();
    const ticks = new Subject<number>();
    const start = Date.parse('2026-01-15T03:00:00Z');
    let now = start;
    let slowNext = false;
    const loop = new LiveLoop({
      site: bern(),
      readings$: readings,
      clock: () => now,
      forecast: profileForecaster(bern(), { meanLoadKw: 5 }),
      tariff: nightCheap,
      ticks$: ticks,
      budgetMs: 2_000,
      refreshMs: 0,
      solve: async (request: PlanRequest, previous: Plan | null, signal: AbortSignal) => {
        const { optimize } = await import('./optimize.js');
        const { highsSolver } = await import('./solvers/highs.js');
        if (slowNext)
          await new Promise((resolve) => {
            const t = setTimeout(resolve, 10_000);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve(null);
            });
          });
        void previous;
        return optimize(request.problem, highsSolver);
      },
    }).start();
    const events: LiveEvent[] = [];
    loop.events$.subscribe((e) => events.push(e));
    const next = (kind: LiveEvent['kind']) =>
      firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === kind),
          timeout(30_000),
        ),
      );
    try {
      const waiting = next('waiting');
      ticks.next(0);
      expect((await waiting).kind).toBe('waiting');
      let plan = next('plan');
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: now, value: 40, quality: 'good' });
      let e = await plan;
      expect(e.kind === 'plan' && e.plan.source).toBe('solved');
      expect(e.kind === 'plan' && e.trigger).toBe('state changed');
      // A small SoC move is not material: no new plan before the next slot.
      now += 900_000;
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: now, value: 42, quality: 'good' });
      slowNext = true;
      plan = next('plan');
      ticks.next(1);
      e = await plan;
      expect(e.kind === 'plan' && e.plan.source).toBe('previous');
      expect(e.kind === 'plan' && e.plan.message).toMatch(/budget/);
      expect(e.kind === 'plan' && e.plan.slot).toBe(loop.slotAt(now));
      expect(events.filter((x) => x.kind === 'plan')).toHaveLength(2);
    } finally {
      await loop.stop();
    }
  }, 60_000);
});

describe('live loop on the zev-bern simulator', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('plans, writes the battery setpoint through the gateway, and the simulated battery follows', async () => {
    const { sim, hub, gw } = await zevBernBatteryGateway(cleanup, {
      startMs: Date.parse('2026-01-15T03:00:00Z'), // 04:00 in Bern: the cheap hours
      settleS: 10,
    });
    const store: Store = await pglite.open();
    cleanup.push(() => store.close());
    await migrateOptimizer(store);
    const plans = new PlanRepository(store.db);
    const worker = new SolveWorker();
    cleanup.push(() => worker.close());
    const site = bern();
    const loop = new LiveLoop({
      site,
      readings$: hub.readings$,
      clock: () => sim.tMs,
      forecast: profileForecaster(site, { meanLoadKw: 6 }),
      tariff: nightCheap,
      solve: sitePlanner({ worker, stabilityPenaltyPerKwh: 0.005, site: site.id }),
      budgetMs: 60_000,
      sink: new GatewaySetpointSink((r) =>
        gw.write({ device: r.device, point: r.point, value: r.value, who: r.who, why: r.why }),
      ),
      plans,
      refreshMs: 0,
    }).start();
    cleanup.push(() => loop.stop());
    const dispatched = firstValueFrom(
      loop.events$.pipe(
        filter((e) => e.kind === 'dispatch'),
        timeout(90_000),
      ),
    );
    const battery = sim.buildings[0]!.device('battery') as BatteryDevice;
    const storedBefore = battery.storedWh;
    const poll = await gw.pollOnce();
    expect(poll.errors).toEqual([]);
    const d = await dispatched;
    if (d.kind !== 'dispatch') throw new Error('expected a dispatch');
    const sp = d.setpoints.find((s) => s.assetId === 'battery')!;
    // Cheap now, dear from 06:00: the plan charges at once.
    expect(sp.kw).toBeGreaterThan(1);
    expect(d.writes.map((w) => [w.pointId.split('/')[2], w.outcome])).toEqual([
      ['discharge_rate', 'written'],
      ['charge_rate', 'written'],
      ['mode', 'written'],
    ]);
    expect(battery.setpointW).toBeCloseTo(sp.kw * 1000, -2);
    sim.advanceBy(60);
    expect(battery.meter.powerW).toBeGreaterThan(900 * sp.kw);
    expect(battery.storedWh).toBeGreaterThan(storedBefore);
    // The plan is stored with its inputs, including the measured SoC it started from.
    const stored = await plans.latest('zev-bern');
    expect(stored?.source).toBe('solved');
    const inputs = stored?.request.inputs as { state: { socPct: Record<string, number> } };
    expect(inputs.state.socPct.battery).toBeCloseTo((storedBefore / 20_000) * 100, 0);
    // The write went through the safety layer's audit trail, as the optimizer.
    expect(gw.records.filter((r) => r.who === 'optimizer')).toHaveLength(3);
  }, 120_000);
});
