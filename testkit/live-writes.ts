import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { expect } from 'vitest';
import { validateConfig } from '../config/load.js';
import { Gateway, GatewayConfigSchema, type WriteLog } from '../gateway/index.js';
import { type Site, SiteSchema } from '../model/index.js';
import { type LiveEvent, LiveLoop, profileForecaster, type Tariff } from '../optimizer/live.js';
import type { PlanRequest } from '../optimizer/replan.js';
import { GatewaySetpointSink } from '../optimizer/setpoint-sink.js';
import { plannedEndpoints } from '../sim/endpoints.js';
import { gatewayConfigFor } from '../sim/gateway-config.js';
import { startModbusServer } from '../sim/modbus/server.js';
import type { BatteryDevice } from '../sim/physics/building.js';
import { Simulation } from '../sim/physics/simulation.js';
import { loadScenario } from '../sim/scenario.js';
import { freePort } from '../sim/testing.js';
import { Hub } from '../stream/index.js';

/** The demo's zev-bern with its house battery only, as the optimiser sees it. */
export const LIVE_WRITES_SITE: Site = SiteSchema.parse({
  id: 'zev-bern',
  name: 'ZEV Bern',
  location: { lat: 46.95, lon: 7.45 },
  timezone: 'Europe/Zurich',
  grid: { importLimitKw: 80, exportLimitKw: 30 },
  buildings: [
    {
      id: 'house',
      name: 'house',
      kind: 'apartment_block',
      devices: [],
      assets: [
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
      ],
    },
  ],
});

/** Cheap before 06:00 local, dear after: the plan charges the battery through the night. */
const nightCheap: Tariff = {
  currency: 'CHF',
  import: { otherPerKwh: 0.4, windows: [{ fromHour: 0, toHour: 6, perKwh: 0.1 }] },
  exportPerKwh: 0.05,
};

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
  const scenario = await loadScenario('zev-bern');
  const start = Date.parse('2026-01-15T03:10:00Z');
  const sim = new Simulation(scenario, { seed: 3, startMs: start });
  const battery = sim.buildings[0]!.device('battery') as BatteryDevice;
  // Half full, whatever the scenario starts at: the cheap hours are worth charging in.
  battery.storedWh = 10_000;
  sim.advanceBy(5);
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
    { ...generated, devices: generated.devices.filter((d) => d.id === 'house-battery') },
    'zev-bern battery',
  );
  const gw = new Gateway(cfg, hub, { clock: () => sim.tMs, writeLog: options.writeLog });
  cleanup.push(() => gw.stop());
  const ticks = new Subject<number>();
  const loop = new LiveLoop({
    site: LIVE_WRITES_SITE,
    readings$: hub.readings$,
    clock: () => sim.tMs,
    forecast: profileForecaster(LIVE_WRITES_SITE, { meanLoadKw: 6 }),
    tariff: nightCheap,
    ticks$: ticks,
    solve: async (request: PlanRequest) => {
      const { optimize } = await import('../optimizer/optimize.js');
      const { highsSolver } = await import('../optimizer/solvers/highs.js');
      return optimize(request.problem, highsSolver);
    },
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
  cleanup.push(() => loop.stop());
  const next = (kind: LiveEvent['kind']) =>
    firstValueFrom(
      loop.events$.pipe(
        filter((e) => e.kind === kind),
        timeout(60_000),
      ),
    );
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
