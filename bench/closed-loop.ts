/**
 * Closed-loop savings of the live optimiser (optimizer/live.ts) against the uncontrolled
 * building, on the simulator's physics run faster than real time, without network:
 *
 *  - every building of a scenario that has a battery is one site (its own grid meter);
 *  - each quarter-hour the loop gets the measured SoC, re-plans 24 h ahead (forecasts: PV
 *    clear sky × the default yield, base load the fallback profile around the mean measured
 *    on the day before; prices: the simulator's hourly day-ahead price + a network fee for
 *    import, the day-ahead price for export, known 24 h ahead), and its battery setpoint is
 *    applied to the simulated battery (refreshed every 50 s for the fail-safe);
 *  - the same simulation with the same seed and no control is the baseline;
 *  - cost = Σ per slot (metered import × import price − metered export × export price);
 *  - flap rate = share of re-plans in which a battery decision for one of the next three
 *    slots reverses direction (charge ↔ discharge, both ≥ 0.5 kW) against the previous plan;
 *    "moved" counts re-plans that change such a setpoint by ≥ 1 kW in any direction.
 *
 *   npx tsx bench/closed-loop.ts [--scenarios zev-bern,lappeenranta] [--days 7] [--penalties 0.005,0]
 *     [--start 2026-03-02T00:00:00Z] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { filter, firstValueFrom, Subject } from 'rxjs';
import { type Reading, type Site, SiteSchema } from '../model/index.js';
import { type LiveEvent, LiveLoop, profileForecaster } from '../optimizer/live.js';
import { optimize } from '../optimizer/optimize.js';
import { anchorTargets, type Plan, type PlanRequest, shiftSchedule } from '../optimizer/replan.js';
import type { SetpointSink } from '../optimizer/setpoint-sink.js';
import { highsSolver } from '../optimizer/solvers/highs.js';
import type { BatteryDevice, Building, PvDevice } from '../sim/physics/building.js';
import { controls } from '../sim/physics/controls.js';
import { Simulation } from '../sim/physics/simulation.js';
import { loadScenario, type Scenario } from '../sim/scenario.js';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'zev-bern,lappeenranta' },
    days: { type: 'string', default: '7' },
    penalties: { type: 'string', default: '0.005,0' },
    start: { type: 'string', default: '2026-03-02T00:00:00Z' },
    seed: { type: 'string', default: '1' },
    fee: { type: 'string', default: '0.10' },
  },
});

const SLOT_MS = 900_000;
const FEE = Number(args.fee);
const DAYS = Number(args.days);
const SEED = Number(args.seed);
const START = Date.parse(args.start!);

const importPrice = (sim: Simulation, t: number) => sim.priceEurMwh(t) / 1000 + FEE;
const exportPrice = (sim: Simulation, t: number) => sim.priceEurMwh(t) / 1000;

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

interface Result {
  scenario: string;
  building: string;
  penalty: number;
  cost: number;
  baseline: number;
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

async function runScenario(name: string, penalties: number[]): Promise<Result[]> {
  const scenario = await loadScenario(name);
  const warmup = START - 86_400_000;
  const end = START + DAYS * 86_400_000;
  const batteryBuildings = new Simulation(scenario, { seed: SEED, startMs: warmup }).buildings
    .filter((b) => b.device('battery'))
    .map((b) => b.id);

  // Base load for the forecast: the mean on the day before, measured on a run of its own.
  const meanKw = new Map<string, number>();
  for (const id of batteryBuildings) {
    const sim = new Simulation(scenario, { seed: SEED, startMs: warmup, maxStepS: 60 });
    meanKw.set(id, meanBaseLoadKw(sim, sim.building(id)!, START));
  }
  // The uncontrolled run: same seed, battery idle (its fail-safe default).
  const base = new Simulation(scenario, { seed: SEED, startMs: START, maxStepS: 60 });
  const baseline = new Map<string, number>(batteryBuildings.map((id) => [id, 0]));
  for (let t = START; t < end; t += SLOT_MS) {
    const before = batteryBuildings.map((id) => ({ ...base.building(id)!.gridMeter }));
    base.advanceTo(t + SLOT_MS);
    batteryBuildings.forEach((id, i) => {
      const m = base.building(id)!.gridMeter;
      const imp = (m.importWh - before[i]!.importWh) / 1000;
      const exp = (m.exportWh - before[i]!.exportWh) / 1000;
      baseline.set(id, baseline.get(id)! + imp * importPrice(base, t) - exp * exportPrice(base, t));
    });
  }

  const results: Result[] = [];
  for (const penalty of penalties) {
    const sim = new Simulation(scenario, { seed: SEED, startMs: START, maxStepS: 60 });
    // Price foresight: the simulator's day-ahead prices, as the tariff of the horizon.
    const loops = batteryBuildings.map((id) => {
      const b = sim.building(id)!;
      const site = siteOf(scenario, b);
      const readings = new Subject<Reading>();
      const ticks = new Subject<number>();
      const device = b.device('battery') as BatteryDevice;
      const sink: SetpointSink = {
        async send(_site, setpoints) {
          const kw = setpoints.find((s) => s.assetId === 'battery')?.kw ?? 0;
          const w = Math.max(-device.params.maxDischargeW, Math.min(device.params.maxChargeW, kw * 1000));
          controls.batteryPower(device, w, sim.tMs);
          return [];
        },
      };
      const r: Result = {
        scenario: name,
        building: id,
        penalty,
        cost: 0,
        baseline: baseline.get(id)!,
        replans: 0,
        flaps: 0,
        moves: 0,
        kept: 0,
        solveMs: [],
      };
      const solve = async (request: PlanRequest, previous: Plan | null) => {
        const p = request.problem;
        const slotMs = p.slotMinutes * 60_000;
        const start = request.startMs ?? request.slot * slotMs;
        const imp = p.prices.import.map((_, t) => importPrice(sim, start + t * slotMs));
        const exp = p.prices.export.map((_, t) => exportPrice(sim, start + t * slotMs));
        const problem = { ...p, prices: { import: imp, export: exp } };
        // What the plan is solved against is what is stored with it.
        request.problem = problem;
        const t0 = performance.now();
        const res =
          !previous || previous.source === 'baseline' || penalty <= 0
            ? await optimize(problem, highsSolver)
            : await optimize(problem, highsSolver, {
                anchor: {
                  targets: anchorTargets(shiftSchedule(previous.schedule, request.slot - previous.slot), 4),
                  penaltyPerKwh: penalty,
                },
              });
        r.solveMs.push(performance.now() - t0);
        return res;
      };
      const loop = new LiveLoop({
        site,
        readings$: readings,
        clock: () => sim.tMs,
        forecast: profileForecaster(site, { meanLoadKw: meanKw.get(id)!, outdoorC: 8 }),
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
      return { id, b, device, readings, ticks, loop, r };
    });

    for (let t = START, k = 0; t < end; t += SLOT_MS, k++) {
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
      const before = loops.map((l) => ({ ...l.b.gridMeter }));
      // Advance the slot in 50 s steps, refreshing the fail-safe as the gateway's writes would.
      while (sim.tMs < t + SLOT_MS) {
        sim.advanceTo(Math.min(t + SLOT_MS, sim.tMs + 50_000));
        for (const l of loops) controls.batteryPower(l.device, l.device.setpointW, sim.tMs);
      }
      loops.forEach((l, i) => {
        const imp = (l.b.gridMeter.importWh - before[i]!.importWh) / 1000;
        const exp = (l.b.gridMeter.exportWh - before[i]!.exportWh) / 1000;
        l.r.cost += imp * importPrice(sim, t) - exp * exportPrice(sim, t);
      });
      if (k % 96 === 95) process.stderr.write(`${name} penalty ${penalty}: day ${(k + 1) / 96} done\n`);
    }
    for (const l of loops) {
      await l.loop.stop();
      results.push(l.r);
    }
  }
  return results;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const penalties = args.penalties!.split(',').map(Number);
console.log(
  `closed loop over ${DAYS} days from ${args.start}, seed ${SEED}; import = day-ahead + ${FEE} EUR/kWh, export = day-ahead`,
);
console.log(
  '| scenario | building | anti-flap €/kWh | baseline € | controlled € | savings € | savings % | re-plans | flap rate | moved ≥ 1 kW | kept plans | median solve |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of args.scenarios!.split(',')) {
  for (const r of await runScenario(name, penalties)) {
    const savings = r.baseline - r.cost;
    console.log(
      `| ${r.scenario} | ${r.building} | ${r.penalty} | ${r.baseline.toFixed(2)} | ${r.cost.toFixed(2)} | ${savings.toFixed(2)} | ${(
        (100 * savings) / Math.abs(r.baseline)
      ).toFixed(
        1,
      )} | ${r.replans} | ${(100 * (r.flaps / Math.max(1, r.replans))).toFixed(1)} % | ${(100 * (r.moves / Math.max(1, r.replans))).toFixed(1)} % | ${r.kept} | ${median(
        r.solveMs,
      ).toFixed(0)} ms |`,
    );
  }
}
