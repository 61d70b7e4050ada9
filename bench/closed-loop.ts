/**
 * Closed-loop savings of the live optimiser (optimizer/live.ts) against the uncontrolled
 * building and against perfect foresight, on the simulator's physics run faster than real time,
 * without network (issue #16 item 5):
 *
 *  - every building of a scenario that has a battery is one site (its own grid meter); only
 *    the battery is controlled (loads, heat pumps, EVs run as in the baseline);
 *  - tariffs (`--tariffs`): `spot` = import the simulator's hourly day-ahead price + a network
 *    fee, export the day-ahead price; `peak` = the same plus a demand charge per kW of the
 *    week's highest 15-minute import (`--peak-charge`, the billing month's peak before the week
 *    taken as 0);
 *  - the live loop re-plans each quarter-hour over its 36 h horizon (optimizer HORIZON_SLOTS)
 *    with the terminal value of stored energy; prices as published: tomorrow's day-ahead prices
 *    from 13:00 local, slots beyond them repeat the day before (as tariffs/spot.ts does);
 *  - forecasts (`--forecasts`): `profile` = the live loop's forecaster without history (PV clear
 *    sky × the default yield, base load the fallback profile around the mean of the day before);
 *    `noisy` = the simulated week's actual base load and PV, each slot × (1 + σ·z) with z a
 *    standard normal fixed per slot and quantity (seeded, AR(1) over slots with correlation
 *    time `--noise-hours`, default 3 h) and σ = `--noise` × √(lead / 24 h), capped at `--noise`
 *    (default 0.2: 20 % at a day ahead, about a real day-ahead building-load or PV forecast's
 *    error; an hour ahead 4 %);
 *  - perfect foresight: one LP over the whole run with the actual base load, PV and prices
 *    (net per slot from the baseline's meters), the battery ending at no less than its start,
 *    replayed on the simulator with the same stepping; ratio = live savings / its savings;
 *  - the same simulation with the same seed and no control is the baseline;
 *  - cost = Σ per slot (metered import × import price − metered export × export price)
 *    (+ the peak charge) − the battery's energy gained over the run × ηd × the run's median
 *    import price (the terminal value rule, so emptying the battery at the end earns nothing);
 *  - flap rate = share of re-plans in which a battery decision for one of the next three
 *    slots reverses direction (charge ↔ discharge, both ≥ 0.5 kW) against the previous plan;
 *    "moved" counts re-plans that change such a setpoint by ≥ 1 kW in any direction.
 *
 *   npx tsx bench/closed-loop.ts [--scenarios zev-bern,lappeenranta] [--days 7] [--penalties 0.005]
 *     [--tariffs spot,peak] [--forecasts profile,noisy] [--noise 0.2] [--noise-hours 3]
 *     [--peak-charge 10]
 *     [--start 2026-03-02T00:00:00Z] [--seed 1] [--fee 0.10]
 */
import { parseArgs } from 'node:util';
import { filter, firstValueFrom, Subject } from 'rxjs';
import { localTime, type Reading, type Site, SiteSchema } from '../model/index.js';
import { type Forecaster, type LiveEvent, LiveLoop, profileForecaster } from '../optimizer/live.js';
import { optimize } from '../optimizer/optimize.js';
import { parseProblem } from '../optimizer/problem.js';
import { anchorTargets, type Plan, type PlanRequest, shiftSchedule } from '../optimizer/replan.js';
import type { SetpointSink } from '../optimizer/setpoint-sink.js';
import { terminalPrice } from '../optimizer/site-problem.js';
import { highsSolver } from '../optimizer/solvers/highs.js';
import type { BatteryDevice, Building, PvDevice } from '../sim/physics/building.js';
import { controls } from '../sim/physics/controls.js';
import { Simulation } from '../sim/physics/simulation.js';
import { loadScenario, type Scenario } from '../sim/scenario.js';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'zev-bern,lappeenranta' },
    days: { type: 'string', default: '7' },
    penalties: { type: 'string', default: '0.005' },
    tariffs: { type: 'string', default: 'spot,peak' },
    forecasts: { type: 'string', default: 'profile,noisy' },
    noise: { type: 'string', default: '0.2' },
    'noise-hours': { type: 'string', default: '3' },
    'peak-charge': { type: 'string', default: '10' },
    start: { type: 'string', default: '2026-03-02T00:00:00Z' },
    seed: { type: 'string', default: '1' },
    fee: { type: 'string', default: '0.10' },
  },
});

const SLOT_MS = 900_000;
const DAY_MS = 86_400_000;
const FEE = Number(args.fee);
const DAYS = Number(args.days);
const SEED = Number(args.seed);
const START = Date.parse(args.start!);
const NOISE = Number(args.noise);
const NOISE_HOURS = Number(args['noise-hours']);
const PEAK_CHARGE = Number(args['peak-charge']);
const SLOTS = Math.round((DAYS * DAY_MS) / SLOT_MS);

type TariffKind = 'spot' | 'peak';
type ForecastKind = 'profile' | 'noisy';

const importPrice = (sim: Simulation, t: number) => sim.priceEurMwh(t) / 1000 + FEE;
const exportPrice = (sim: Simulation, t: number) => sim.priceEurMwh(t) / 1000;
const peakChargeOf = (tariff: TariffKind) => (tariff === 'peak' ? PEAK_CHARGE : 0);

/**
 * The time whose day-ahead price is known at `nowMs` for slot `ms`: the slot itself when
 * published (today's always, tomorrow's from 13:00 local), else the same time a day earlier.
 */
function publishedAt(ms: number, nowMs: number, timezone: string): number {
  const local = localTime(nowMs, timezone);
  const midnight = nowMs - ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 - (nowMs % 1000);
  const knownUntil = midnight + (local.hour >= 13 ? 2 : 1) * DAY_MS;
  let t = ms;
  while (t >= knownUntil) t -= DAY_MS;
  return t;
}

/** Standard normal, seeded (mulberry32 + Box–Muller): the same draw for the same key. */
function normal(seed: number, key: number): number {
  const u = (k: number) => {
    let t = (seed * 0x9e3779b1 + k * 0x85ebca6b) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return Math.sqrt(-2 * Math.log(u(2 * key))) * Math.cos(2 * Math.PI * u(2 * key + 1));
}

/** What the baseline run measured per slot of a building: base load and PV (kW), battery excluded. */
interface Actuals {
  baseKw: number[];
  pvKw: number[];
  initialSocPct: number;
}

/**
 * Forecast errors z per slot of the run (and two days beyond), seeded: an AR(1) series of
 * standard normals with correlation time `NOISE_HOURS`, so an error is a level off for hours
 * (as a real forecast's, which misses the weather or the occupancy of an afternoon) rather
 * than white noise that would invent spikes slot by slot.
 */
function errorSeries(seed: number): number[] {
  const rho = Math.exp(-SLOT_MS / (NOISE_HOURS * 3_600_000));
  const z = [normal(seed, 0)];
  for (let k = 1; k < SLOTS + 192; k++) z.push(rho * z[k - 1]! + Math.sqrt(1 - rho * rho) * normal(seed, k));
  return z;
}

/**
 * The `noisy` forecaster: the actual base load and PV of each slot × (1 + σ·z), z from
 * `errorSeries` (one series each), σ growing with the lead time as √(lead / 24 h) up to `NOISE`;
 * z is fixed per slot, so forecasts of a slot converge on its actual value as it nears. Slots
 * after the run repeat its last day.
 */
function noisyForecaster(actual: Actuals, seed: number): Forecaster {
  const at = (xs: number[], k: number) => xs[k < xs.length ? k : xs.length - 96 + (k % 96)] ?? 0;
  const zLoad = errorSeries(2 * seed);
  const zPv = errorSeries(2 * seed + 1);
  return async (startMs, slots) => {
    const k0 = Math.round((startMs - START) / SLOT_MS);
    const baseLoadKw: number[] = [];
    const pvKw: number[] = [];
    for (let t = 0; t < slots; t++) {
      const sigma = NOISE * Math.min(1, Math.sqrt((t * SLOT_MS) / DAY_MS));
      const k = k0 + t;
      baseLoadKw.push(Math.max(0, at(actual.baseKw, k) * (1 + sigma * zLoad[k]!)));
      pvKw.push(Math.max(0, at(actual.pvKw, k) * (1 + sigma * zPv[k]!)));
    }
    return { pvKw, baseLoadKw, outdoorC: 8 };
  };
}

/** The model site of one simulated building: its battery and PV (what the loop controls or forecasts). */
function siteOf(scenario: Scenario, b: Building): Site {
  const battery = b.device('battery') as BatteryDevice;
  const pv = b.devices.filter((d): d is PvDevice => d.type === 'pv');
  return SiteSchema.parse({
    id: `${scenario.id}-${b.id}`,
    name: b.id,
    location: scenario.location,
    timezone: scenario.timezone,
    // A large connection: the scenarios do not give one per building.
    grid: { importLimitKw: 1000, exportLimitKw: 1000 },
    buildings: [
      {
        id: b.id,
        name: b.id,
        kind: 'other',
        assets: [
          {
            id: 'battery',
            type: 'battery',
            capacityKwh: battery.params.capacityWh / 1000,
            maxChargeKw: battery.params.maxChargeW / 1000,
            maxDischargeKw: battery.params.maxDischargeW / 1000,
            chargeEfficiency: battery.params.chargeEfficiency,
            dischargeEfficiency: battery.params.dischargeEfficiency,
            minSocPct: battery.params.minSocPct,
            maxSocPct: battery.params.maxSocPct,
            measure: { soc: `${b.id}/battery/soc` },
          },
          ...pv.map((d) => ({ id: d.id, type: 'pv', kwp: d.kwp, inverterKw: d.inverterKw })),
        ],
      },
    ],
  });
}

/** Mean base load (everything but battery and PV) of a building over [from, to), stepping the sim. */
function meanBaseLoadKw(sim: Simulation, b: Building, to: number): number {
  let sum = 0;
  let n = 0;
  while (sim.tMs < to) {
    sim.advanceBy(300);
    const battery = b.device('battery')!.meter.powerW;
    const pv = b.devices.filter((d) => d.type === 'pv').reduce((a, d) => a + d.meter.powerW, 0);
    sum += b.gridMeter.powerW - battery - pv;
    n++;
  }
  return Math.max(0.1, sum / n / 1000);
}

/** Metered energy per slot of one building (kWh), and the battery's stored energy gained over the run. */
interface Metered {
  importKwh: number[];
  exportKwh: number[];
  storedGainKwh: number;
}

/**
 * Cost of a metered run under a tariff: energy both ways, plus the peak charge on the highest
 * slot import, less the battery's stored energy gained over the run at the terminal value
 * (optimizer README "Terminal value": ηd × the run's median import price), so a run that
 * ends with the battery emptier than it started is not credited with the energy it sold.
 */
function costOf(m: Metered, tariff: TariffKind, prices: Simulation, etaD: number): number {
  let cost = 0;
  let peakKw = 0;
  const imports: number[] = [];
  m.importKwh.forEach((imp, k) => {
    const t = START + k * SLOT_MS;
    imports.push(importPrice(prices, t));
    cost += imp * importPrice(prices, t) - m.exportKwh[k]! * exportPrice(prices, t);
    peakKw = Math.max(peakKw, imp / (SLOT_MS / 3_600_000));
  });
  return cost + peakChargeOf(tariff) * peakKw - terminalPrice(imports) * etaD * m.storedGainKwh;
}

const netWh = (m: { importWh: number; exportWh: number }) => m.importWh - m.exportWh;

/**
 * Step `sim` over the run slot by slot: `beforeSlot` sets the batteries of `controlled`
 * buildings, whose setpoints are refreshed every 50 s for the fail-safe as the gateway's
 * writes would; returns what each building's grid meter measured per slot and, for
 * `actuals`, its base load and PV (battery excluded) per slot.
 */
async function simulate(
  sim: Simulation,
  ids: string[],
  controlled: boolean,
  beforeSlot: (k: number, metered: Map<string, Metered>) => Promise<void> | void,
): Promise<{ metered: Map<string, Metered>; actuals: Map<string, Actuals> }> {
  const battery = (id: string) => sim.building(id)!.device('battery') as BatteryDevice;
  const metered = new Map(
    ids.map((id) => [
      id,
      { importKwh: [] as number[], exportKwh: [] as number[], storedGainKwh: -battery(id).storedWh / 1000 },
    ]),
  );
  const actuals = new Map(
    ids.map((id) => {
      const d = sim.building(id)!.device('battery') as BatteryDevice;
      return [
        id,
        {
          baseKw: [] as number[],
          pvKw: [] as number[],
          initialSocPct: (100 * d.storedWh) / d.params.capacityWh,
        },
      ];
    }),
  );
  const end = START + SLOTS * SLOT_MS;
  for (let t = START, k = 0; t < end; t += SLOT_MS, k++) {
    await beforeSlot(k, metered);
    const snap = () =>
      ids.map((id) => {
        const b = sim.building(id)!;
        const pv = b.devices.filter((d) => d.type === 'pv').reduce((sum, d) => sum - netWh(d.meter), 0);
        return { grid: { ...b.gridMeter }, battery: netWh(b.device('battery')!.meter), pv };
      });
    const before = snap();
    while (sim.tMs < t + SLOT_MS) {
      sim.advanceTo(Math.min(t + SLOT_MS, sim.tMs + 50_000));
      if (controlled)
        for (const id of ids) {
          const d = sim.building(id)!.device('battery') as BatteryDevice;
          controls.batteryPower(d, d.setpointW, sim.tMs);
        }
    }
    const after = snap();
    const h = SLOT_MS / 3_600_000;
    ids.forEach((id, i) => {
      const m = metered.get(id)!;
      const a = after[i]!;
      const b = before[i]!;
      m.importKwh.push((a.grid.importWh - b.grid.importWh) / 1000);
      m.exportKwh.push((a.grid.exportWh - b.grid.exportWh) / 1000);
      const pvKw = (a.pv - b.pv) / 1000 / h;
      const gridKw = (netWh(a.grid) - netWh(b.grid)) / 1000 / h;
      const batteryKw = (a.battery - b.battery) / 1000 / h;
      actuals.get(id)!.pvKw.push(Math.max(0, pvKw));
      actuals.get(id)!.baseKw.push(Math.max(0, gridKw - batteryKw + pvKw));
    });
  }
  for (const id of ids) metered.get(id)!.storedGainKwh += battery(id).storedWh / 1000;
  return { metered, actuals };
}

/** Set a simulated battery to `kw` (positive = charging), within its power limits. */
function setBattery(sim: Simulation, device: BatteryDevice, kw: number): void {
  const w = Math.max(-device.params.maxDischargeW, Math.min(device.params.maxChargeW, kw * 1000));
  controls.batteryPower(device, w, sim.tMs);
}

/**
 * Perfect foresight for one building: one LP over the whole run with its actual base load, PV
 * and prices, the battery ending at no less than its start; returns the planned battery kW per
 * slot and the LP's savings against its own baseline.
 */
async function perfectPlan(
  b: Building,
  actual: Actuals,
  tariff: TariffKind,
  prices: Simulation,
): Promise<{ batteryKw: number[]; lpSavings: number }> {
  const d = b.device('battery') as BatteryDevice;
  const cap = d.params.capacityWh / 1000;
  const initial = (cap * actual.initialSocPct) / 100;
  const times = Array.from({ length: SLOTS }, (_, k) => START + k * SLOT_MS);
  const p = parseProblem({
    slotMinutes: 15,
    prices: {
      import: times.map((t) => importPrice(prices, t)),
      export: times.map((t) => exportPrice(prices, t)),
    },
    baseLoadKw: actual.baseKw,
    pvKw: actual.pvKw,
    peakChargePerKw: peakChargeOf(tariff),
    assets: [
      {
        type: 'battery',
        id: 'battery',
        capacityKwh: (cap * d.params.maxSocPct) / 100,
        minSocKwh: Math.min(initial, (cap * d.params.minSocPct) / 100),
        maxChargeKw: d.params.maxChargeW / 1000,
        maxDischargeKw: d.params.maxDischargeW / 1000,
        chargeEfficiency: d.params.chargeEfficiency,
        dischargeEfficiency: d.params.dischargeEfficiency,
        initialKwh: initial,
        finalMinKwh: initial,
      },
    ],
  });
  const r = await optimize(p, highsSolver);
  const a = r.schedule?.assets.battery;
  if (r.status !== 'optimal' || a?.type !== 'battery')
    throw new Error(`perfect foresight for ${b.id}: ${r.status}`);
  return { batteryKw: a.chargeKw.map((c, t) => c - a.dischargeKw[t]!), lpSavings: r.savings! };
}

interface Result {
  scenario: string;
  building: string;
  tariff: TariffKind;
  forecast: ForecastKind;
  penalty: number;
  cost: number;
  baseline: number;
  /** Perfect foresight replayed on the simulator, and the LP's own savings. */
  perfect: number;
  perfectLpSavings: number;
  /** The live run's battery energy at the end less at the start (kWh). */
  storedGainKwh: number;
  replans: number;
  flaps: number;
  /** Re-plans that move a battery setpoint of the next three slots by ≥ 1 kW (any direction). */
  moves: number;
  kept: number;
  solveMs: number[];
}

function netBatteryKw(plan: Plan, absSlot: number): number | null {
  const a = plan.schedule.assets.battery;
  const t = absSlot - plan.slot;
  if (a?.type !== 'battery' || t < 0 || t >= a.chargeKw.length) return null;
  return a.chargeKw[t]! - a.dischargeKw[t]!;
}

/** Does `next` reverse a battery direction of `prev` in its first three slots? */
function flapped(prev: Plan, next: Plan): boolean {
  for (let s = next.slot; s < next.slot + 3; s++) {
    const a = netBatteryKw(prev, s);
    const b = netBatteryKw(next, s);
    if (a === null || b === null) continue;
    if ((a >= 0.5 && b <= -0.5) || (a <= -0.5 && b >= 0.5)) return true;
  }
  return false;
}

/** Does `next` move a battery setpoint of its first three slots by ≥ 1 kW against `prev`? */
function moved(prev: Plan, next: Plan): boolean {
  for (let s = next.slot; s < next.slot + 3; s++) {
    const a = netBatteryKw(prev, s);
    const b = netBatteryKw(next, s);
    if (a !== null && b !== null && Math.abs(a - b) >= 1) return true;
  }
  return false;
}

/** The live loop on one run: per building a loop, its battery set by the loop's dispatch. */
async function liveRun(
  scenario: Scenario,
  ids: string[],
  o: {
    tariff: TariffKind;
    forecast: ForecastKind;
    penalty: number;
    meanKw: Map<string, number>;
    actuals: Map<string, Actuals>;
  },
): Promise<{
  metered: Map<string, Metered>;
  stats: Map<string, Omit<Result, 'cost' | 'baseline' | 'perfect' | 'perfectLpSavings' | 'storedGainKwh'>>;
}> {
  const sim = new Simulation(scenario, { seed: SEED, startMs: START, maxStepS: 60 });
  const peakKw = new Map(ids.map((id) => [id, 0]));
  const loops = ids.map((id, i) => {
    const b = sim.building(id)!;
    const site = siteOf(scenario, b);
    const readings = new Subject<Reading>();
    const ticks = new Subject<number>();
    const device = b.device('battery') as BatteryDevice;
    const sink: SetpointSink = {
      async send(_site, setpoints) {
        setBattery(sim, device, setpoints.find((s) => s.assetId === 'battery')?.kw ?? 0);
        return [];
      },
    };
    const r = {
      scenario: scenario.id,
      building: id,
      tariff: o.tariff,
      forecast: o.forecast,
      penalty: o.penalty,
      replans: 0,
      flaps: 0,
      moves: 0,
      kept: 0,
      solveMs: [] as number[],
    };
    const solve = async (request: PlanRequest, previous: Plan | null) => {
      const p = request.problem;
      const slotMs = p.slotMinutes * 60_000;
      const start = request.startMs ?? request.slot * slotMs;
      const now = sim.tMs;
      const at = (t: number) => publishedAt(start + t * slotMs, now, scenario.timezone);
      const imp = p.prices.import.map((_, t) => importPrice(sim, at(t)));
      const problem = {
        ...p,
        prices: { import: imp, export: p.prices.export.map((_, t) => exportPrice(sim, at(t))) },
        terminalPricePerKwh: terminalPrice(imp),
        peakChargePerKw: peakChargeOf(o.tariff),
        peakSoFarKw: peakKw.get(id)!,
      };
      // What the plan is solved against is what is stored with it.
      request.problem = problem;
      const t0 = performance.now();
      const res =
        !previous || previous.source === 'baseline' || o.penalty <= 0
          ? await optimize(problem, highsSolver)
          : await optimize(problem, highsSolver, {
              anchor: {
                targets: anchorTargets(shiftSchedule(previous.schedule, request.slot - previous.slot), 4),
                penaltyPerKwh: o.penalty,
              },
            });
      r.solveMs.push(performance.now() - t0);
      return res;
    };
    const forecast =
      o.forecast === 'profile'
        ? profileForecaster(site, { meanLoadKw: o.meanKw.get(id)!, outdoorC: 8 })
        : noisyForecaster(o.actuals.get(id)!, SEED * 1000 + i);
    const loop = new LiveLoop({
      site,
      readings$: readings,
      clock: () => sim.tMs,
      forecast,
      ticks$: ticks,
      solve,
      budgetMs: 600_000,
      sink,
      refreshMs: 0,
      minDispatchGapMs: 0,
      // Only slot ticks re-plan: one plan per slot makes the flap rate comparable.
      material: { socPct: 101, temperatureC: 1e9 },
    }).start();
    let prev: Plan | null = null;
    loop.events$.subscribe((e: LiveEvent) => {
      if (e.kind !== 'plan') return;
      if (e.plan.source !== 'solved') r.kept++;
      if (prev) {
        r.replans++;
        if (flapped(prev, e.plan)) r.flaps++;
        if (moved(prev, e.plan)) r.moves++;
      }
      prev = e.plan;
    });
    return { id, device, readings, ticks, loop, r };
  });
  const { metered } = await simulate(sim, ids, true, async (k, sofar) => {
    // The month's peak so far: the highest metered slot import of the run (0 before it).
    for (const id of ids)
      peakKw.set(
        id,
        Math.max(peakKw.get(id)!, (sofar.get(id)!.importKwh.at(-1) ?? 0) / (SLOT_MS / 3_600_000)),
      );
    for (const l of loops) {
      const dispatched = firstValueFrom(l.loop.events$.pipe(filter((e) => e.kind === 'dispatch')));
      l.readings.next({
        pointId: `${l.id}/battery/soc`,
        ts: sim.tMs,
        value: (l.device.storedWh / l.device.params.capacityWh) * 100,
        quality: 'good',
      });
      l.ticks.next(k);
      await dispatched;
    }
    if (k % 96 === 95)
      process.stderr.write(`${scenario.id} ${o.tariff}/${o.forecast}: day ${(k + 1) / 96} done\n`);
  });
  for (const l of loops) await l.loop.stop();
  return { metered, stats: new Map(loops.map((l) => [l.id, l.r])) };
}

async function runScenario(name: string): Promise<Result[]> {
  const scenario = await loadScenario(name);
  const warmup = START - DAY_MS;
  const ids = new Simulation(scenario, { seed: SEED, startMs: warmup }).buildings
    .filter((b) => b.device('battery'))
    .map((b) => b.id);

  // Base load for the profile forecast: the mean on the day before, measured on a run of its own.
  const meanKw = new Map<string, number>();
  for (const id of ids) {
    const sim = new Simulation(scenario, { seed: SEED, startMs: warmup, maxStepS: 60 });
    meanKw.set(id, meanBaseLoadKw(sim, sim.building(id)!, START));
  }
  // The uncontrolled run: same seed, battery idle (its fail-safe default); it also gives the
  // actual base load and PV that perfect foresight and the noisy forecast use.
  const base = new Simulation(scenario, { seed: SEED, startMs: START, maxStepS: 60 });
  const baseline = await simulate(base, ids, false, () => undefined);
  process.stderr.write(`${name}: baseline done\n`);

  const etaD = (id: string) =>
    (base.building(id)!.device('battery') as BatteryDevice).params.dischargeEfficiency;
  const results: Result[] = [];
  for (const tariff of args.tariffs!.split(',') as TariffKind[]) {
    const replay = new Simulation(scenario, { seed: SEED, startMs: START, maxStepS: 60 });
    const plans = new Map<string, { batteryKw: number[]; lpSavings: number }>();
    for (const id of ids)
      plans.set(id, await perfectPlan(replay.building(id)!, baseline.actuals.get(id)!, tariff, replay));
    const perfect = await simulate(replay, ids, true, (k) => {
      for (const id of ids)
        setBattery(
          replay,
          replay.building(id)!.device('battery') as BatteryDevice,
          plans.get(id)!.batteryKw[k]!,
        );
    });
    process.stderr.write(`${name} ${tariff}: perfect foresight done\n`);
    for (const forecast of args.forecasts!.split(',') as ForecastKind[])
      for (const penalty of args.penalties!.split(',').map(Number)) {
        const live = await liveRun(scenario, ids, {
          tariff,
          forecast,
          penalty,
          meanKw,
          actuals: baseline.actuals,
        });
        for (const id of ids)
          results.push({
            ...live.stats.get(id)!,
            cost: costOf(live.metered.get(id)!, tariff, base, etaD(id)),
            baseline: costOf(baseline.metered.get(id)!, tariff, base, etaD(id)),
            perfect: costOf(perfect.metered.get(id)!, tariff, base, etaD(id)),
            storedGainKwh: live.metered.get(id)!.storedGainKwh,
            perfectLpSavings: plans.get(id)!.lpSavings,
          });
      }
  }
  return results;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const eur = (x: number) => x.toFixed(2);

console.log(
  `closed loop over ${DAYS} days from ${args.start}, seed ${SEED}; import = day-ahead + ${FEE} EUR/kWh, export = day-ahead; peak tariff: + ${PEAK_CHARGE} EUR/kW of the highest 15-min import; noisy forecast σ = ${NOISE} × √(lead/24 h), capped, errors correlated over ${NOISE_HOURS} h`,
);
console.log(
  '| scenario | building | tariff | forecast | anti-flap €/kWh | baseline € | live € | live savings € | perfect-foresight savings € (LP) | ratio | live ΔE kWh | flap rate | moved ≥ 1 kW | kept | median solve |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of args.scenarios!.split(',')) {
  for (const r of await runScenario(name)) {
    const live = r.baseline - r.cost;
    const perfect = r.baseline - r.perfect;
    const pct = (x: number) => `${((100 * x) / Math.abs(r.baseline)).toFixed(1)} %`;
    console.log(
      `| ${r.scenario} | ${r.building} | ${r.tariff} | ${r.forecast} | ${r.penalty} | ${eur(r.baseline)} | ${eur(r.cost)} | ${eur(live)} (${pct(live)}) | ${eur(perfect)} (${eur(r.perfectLpSavings)}) | ${(live / perfect).toFixed(2)} | ${r.storedGainKwh.toFixed(1)} | ${(100 * (r.flaps / Math.max(1, r.replans))).toFixed(1)} % | ${(100 * (r.moves / Math.max(1, r.replans))).toFixed(1)} % | ${r.kept} | ${median(r.solveMs).toFixed(0)} ms |`,
    );
  }
}
