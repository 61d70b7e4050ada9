import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { expect } from 'vitest';
import type { Gateway, WriteLog } from '../gateway/index.js';
import { type Site, SiteSchema } from '../model/index.js';
import type { BatteryDevice } from '../sim/physics/building.js';
import type { Simulation } from '../sim/physics/simulation.js';
import { Hub } from '../stream/index.js';
import { checkSchedule } from './check.js';
import { SOLVERS } from './index.js';
import { type LiveEvent, LiveLoop, type LiveLoopOptions, profileForecaster, type Tariff } from './live.js';
import { type LpModel, toCplexLp, toMps } from './lp.js';
import { optimize } from './optimize.js';
import { type ProblemInput, parseProblem } from './problem.js';
import type { PlanRequest } from './replan.js';
import { GatewaySetpointSink } from './setpoint-sink.js';

/**
 * Parse and solve `input`, and check what every optimum must satisfy: optimal, a schedule the
 * full-resolution model accepts, and a reported cost equal to the objective (recomputed
 * independently of the solver).
 */
export async function solveChecked(input: ProblemInput, solver: 'highs' | 'jsl' = 'highs') {
  const p = parseProblem(input);
  const r = await optimize(p, SOLVERS[solver]);
  expect(r.status).toBe('optimal');
  expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
  expect(r.cost!.total).toBeCloseTo(r.objective!, 9);
  return { p, r };
}

/** How far apart two objectives are, relative to the larger (and at least 1). */
export const relGap = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Solve `lp` with GLPK's glpsol, written into `dir` as CPLEX LP or as free MPS (the writer the
 * native path uses); the `s` line of --write carries the status and the objective at full precision.
 */
export function glpsolSolve(
  lp: LpModel,
  dir: string,
  name: string,
  format: 'lp' | 'freemps',
): { status: 'optimal' | 'infeasible'; objective: number } {
  const file = join(dir, `${name}.${format === 'lp' ? 'lp' : 'mps'}`);
  const out = join(dir, `${name}.sol`);
  writeFileSync(file, format === 'lp' ? toCplexLp(lp) : toMps(lp));
  execFileSync('/usr/bin/glpsol', [`--${format}`, file, '--write', out], { stdio: 'ignore' });
  const line = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('s '))!;
  const [, , , , prim, , obj] = line.split(/\s+/);
  return { status: prim === 'f' ? 'optimal' : 'infeasible', objective: Number(obj) + lp.offset };
}

/** The demo's zev-bern with only these assets in its house, as the optimiser sees it. */
export const zevBernHouse = (assets: unknown[]): Site =>
  SiteSchema.parse({
    id: 'zev-bern',
    name: 'ZEV Bern',
    location: { lat: 46.95, lon: 7.45 },
    timezone: 'Europe/Zurich',
    grid: { importLimitKw: 80, exportLimitKw: 30 },
    buildings: [{ id: 'house', name: 'house', kind: 'apartment_block', devices: [], assets }],
  });

/** The demo's zev-bern with its house battery only, as the optimiser sees it. */
export const LIVE_WRITES_SITE: Site = zevBernHouse([
  {
    id: 'battery',
    type: 'battery',
    capacityKwh: 20,
    maxChargeKw: 10,
    maxDischargeKw: 10,
    measure: { soc: 'zev-bern/house-battery/soc', power: 'zev-bern/house-battery/power' },
    control: {
      mode: 'zev-bern/house-battery/mode',
      charge_rate: 'zev-bern/house-battery/charge_rate',
      discharge_rate: 'zev-bern/house-battery/discharge_rate',
    },
  },
]);

/** Cheap before 06:00 local, dear after: the plan charges the battery through the night. */
const nightCheap: Tariff = {
  currency: 'CHF',
  import: { otherPerKwh: 0.4, windows: [{ fromHour: 0, toHour: 6, perKwh: 0.1 }] },
  exportPerKwh: 0.05,
};

/**
 * The demo's zev-bern simulator from `startMs` with its house battery half full, served over
 * real Modbus on a free loopback port, and a real gateway (on the simulation's clock) for the
 * house battery only (or the gateway devices named in `devices`, e.g. `house-pv`), `settleS`
 * simulated seconds in. Everything started is stopped by the functions pushed onto `cleanup`.
 */
export async function zevBernBatteryGateway(
  cleanup: (() => Promise<void>)[],
  options: { startMs: number; settleS: number; writeLog?: WriteLog; devices?: readonly string[] },
): Promise<{ sim: Simulation; hub: Hub; gw: Gateway }> {
  const devices = options.devices ?? ['house-battery'];
  // Loaded here, not at the top: the solver tests that import this file skip the gateway and simulator.
  const [{ validateConfig }, { Gateway, GatewayConfigSchema }, { plannedEndpoints }, { gatewayConfigFor }] =
    await Promise.all([
      import('../config/load.js'),
      import('../gateway/index.js'),
      import('../sim/endpoints.js'),
      import('../sim/gateway-config.js'),
    ]);
  const [{ startModbusServer }, { Simulation }, { loadScenario }, { freePort }] = await Promise.all([
    import('../sim/modbus/server.js'),
    import('../sim/physics/simulation.js'),
    import('../sim/scenario.js'),
    import('../sim/testing.js'),
  ]);
  const scenario = await loadScenario('zev-bern');
  const sim = new Simulation(scenario, { seed: 3, startMs: options.startMs });
  // Half full, whatever the scenario starts at: the cheap hours are worth charging in.
  (sim.buildings[0]!.device('battery') as BatteryDevice).storedWh = 10_000;
  sim.advanceBy(options.settleS);
  const port = await freePort();
  const server = await startModbusServer(sim, { host: '127.0.0.1', port });
  cleanup.push(() => server.close());
  const hub = new Hub();
  cleanup.push(async () => hub.close());
  const generated = gatewayConfigFor(sim, plannedEndpoints(scenario, '127.0.0.1', port)) as {
    devices: { id: string }[];
  };
  const cfg = validateConfig(
    GatewayConfigSchema,
    { ...generated, devices: generated.devices.filter((d) => devices.includes(d.id)) },
    `zev-bern ${devices.join(', ')}`,
  );
  const gw = new Gateway(cfg, hub, { clock: () => sim.tMs, writeLog: options.writeLog });
  cleanup.push(() => gw.stop());
  return { sim, hub, gw };
}

/**
 * Ten simulated minutes of the live optimiser writing the demo's zev-bern house battery through
 * a real gateway over real Modbus to the simulator, from 04:10 in Bern (across the 04:15 slot
 * boundary): polls every 5 s, re-dispatches every 20 s, and at minute 5 another writer ("alice")
 * sets the charge rate. Asserts on the way that every poll succeeds and the device's 60-second
 * fail-safe never lapses. The gateway stores its records in `writeLog` when given (flushed on
 * return). Everything started is stopped by the functions pushed onto `cleanup`.
 */
export async function tenLiveMinutes(
  cleanup: (() => Promise<void>)[],
  options: { writeLog?: WriteLog } = {},
): Promise<{ gw: Gateway }> {
  const { sim, hub, gw } = await zevBernBatteryGateway(cleanup, {
    startMs: Date.parse('2026-01-15T03:10:00Z'),
    settleS: 5,
    writeLog: options.writeLog,
  });
  const battery = sim.buildings[0]!.device('battery') as BatteryDevice;
  const ticks = new Subject<number>();
  const { loop, next } = simLiveLoop(
    { sim, hub, gw },
    {
      site: LIVE_WRITES_SITE,
      forecast: profileForecaster(LIVE_WRITES_SITE, { meanLoadKw: 6 }),
      tariff: nightCheap,
    },
    ticks,
  );
  cleanup.push(() => loop.stop());
  const first = next('dispatch');
  expect((await gw.pollOnce()).errors).toEqual([]);
  await first;

  const slotMs = 900_000;
  for (let step = 1; step <= 120; step++) {
    sim.advanceBy(5);
    expect((await gw.pollOnce()).errors).toEqual([]);
    if (Math.floor(sim.tMs / slotMs) !== Math.floor((sim.tMs - 5_000) / slotMs)) {
      const dispatched = next('dispatch');
      ticks.next(step);
      await dispatched;
    } else if (step % 4 === 0) await loop.dispatch();
    if (step === 60) {
      // Someone else (a user, the market) sets another rate: the optimiser puts its own back.
      await gw.write({ device: 'house-battery', point: 'charge_rate', value: 10, who: 'alice', why: 'test' });
    }
    // The simulated device's 60-second fail-safe never lapsed.
    expect(battery.watchdog.lastRefreshMs).not.toBeNull();
    expect(sim.tMs - battery.watchdog.lastRefreshMs!).toBeLessThanOrEqual(60_000);
  }
  await gw.flushAudit();
  return { gw };
}

/**
 * The live optimiser on a simulator rig (`zevBernBatteryGateway`): the simulation's clock, the
 * rig's hub and gateway, slot ticks from `ticks`, no periodic re-check (the test drives it).
 * `next(kind)` waits for the loop's next event of that kind.
 */
export function simLiveLoop(
  rig: { sim: Simulation; hub: Hub; gw: Gateway },
  o: Pick<LiveLoopOptions, 'site' | 'forecast' | 'tariff' | 'prices'>,
  ticks: Subject<number>,
) {
  const { sim, hub, gw } = rig;
  const loop = new LiveLoop({
    ...o,
    readings$: hub.readings$,
    clock: () => sim.tMs,
    ticks$: ticks,
    solve: (request: PlanRequest) => optimize(request.problem, SOLVERS.highs),
    budgetMs: 60_000,
    sink: new GatewaySetpointSink(
      (r) => gw.write({ device: r.device, point: r.point, value: r.value, who: r.who, why: r.why }),
      { clock: () => sim.tMs },
    ),
    writes$: hub.topic('writes'),
    // The rig drives the 20-second checks itself, on the simulation's clock.
    refreshMs: 0,
    minDispatchGapMs: 0,
  }).start();
  return { loop, next: nextEvent(loop) };
}

/** A waiter for a live loop's next event of a kind (at most a minute). */
export const nextEvent =
  (loop: LiveLoop) =>
  <K extends LiveEvent['kind']>(kind: K) =>
    firstValueFrom(
      loop.events$.pipe(
        filter((e): e is Extract<LiveEvent, { kind: K }> => e.kind === kind),
        timeout(60_000),
      ),
    );

/** A write as far as "unchanged" goes: its point, the value it sent, its outcome. */
export interface WriteSent {
  point: string;
  value: number | null;
  outcome: string;
}

/**
 * The accepted writes (a value sent, written or unverified) that sent a point the value its
 * previous accepted write had already sent; `writes` oldest first.
 */
export function unchangedRewrites<W extends WriteSent>(writes: readonly W[]): W[] {
  const last = new Map<string, number>();
  const unchanged: W[] = [];
  for (const w of writes) {
    if (w.value === null || (w.outcome !== 'written' && w.outcome !== 'unverified')) continue;
    if (last.get(w.point) === w.value) unchanged.push(w);
    last.set(w.point, w.value);
  }
  return unchanged;
}
