import type { Observable } from 'rxjs';
import type { SetpointMemoryOptions } from '../control/setpoint-memory.js';
import type { Reading, Site, SiteCommitment, WriteFn, WriteRecord } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { PvArray } from './forecast/solar.js';
import { weatherForecaster } from './forecast/weather-forecaster.js';
import type { WeatherReading } from './forecast/weather-source.js';
import { ForecastStore } from './forecast-store.js';
import { DEFAULT_TARIFF, gridPowerPoints, LiveLoop, storeForecaster, type Tariff } from './live.js';
import { type SpotSource, siteTariffPrices } from './live-prices.js';
import { migrateOptimizer, PlanRepository } from './plan-store.js';
import { type LpSolveService, SolveWorker } from './pool.js';
import { sitePlanner } from './replan.js';
import { GatewaySetpointSink } from './setpoint-sink.js';
import { monthPeakSoFar } from './tariffs/peak-so-far.js';
import type { SiteTariff } from './tariffs/schema.js';

/** How long the loop may wait for its first measurements before it says so. */
const WAIT_NOTICE_MS = 60_000;

export interface LiveOptimizerOptions {
  site: Site;
  readings$: Observable<Reading>;
  store: Store;
  /** The gateway's safety-layer write for this site's devices. */
  write: WriteFn;
  tariff?: Tariff;
  /**
   * A versioned tariff (tariffs/): replaces `tariff`; priced by `siteTariffPrices` with `spot`
   * for its spot-indexed prices and the month's peak so far from the grid meter in the store.
   */
  siteTariff?: SiteTariff;
  spot?: SpotSource;
  /** Weather forecast: PV from irradiance on `pvArrays`, outdoor temperature (forecast/weather-forecaster.ts). */
  weather?: { get(): Promise<WeatherReading> };
  pvArrays?: readonly PvArray[];
  /** Mean base load of the fallback profile, for slots without history in the store (kW). */
  meanLoadKw: number;
  obligations$?: Observable<readonly SiteCommitment[]>;
  /** Every writer's write records (the hub's `writes` topic): unchanged values are not rewritten. */
  writes$?: Observable<WriteRecord>;
  /** Deadbands and fail-safe timeouts (control/setpoint-memory.ts); defaults per binding. */
  setpoints?: SetpointMemoryOptions;
  budgetMs?: number;
  /**
   * Solves the loop's LPs (app/queue-solver.ts `QueueSolver`: on `gridflex worker` processes);
   * the caller's, closed by the caller. Without it the loop has a solver thread of its own.
   */
  solver?: LpSolveService;
  /** Anti-flap penalty per kWh of deviation from the previous plan's first hour (README "Live loop"). */
  stabilityPenaltyPerKwh?: number;
  say?: (line: string) => void;
}

/**
 * A running process's live optimiser for one site: a solver thread (or the given `solver`), the
 * loop, plans stored in the store, setpoints to the gateway. Says what it does in plain lines:
 * the first plan, every plan that was kept rather than solved, waiting for state, errors.
 */
export async function startLiveOptimizer(
  o: LiveOptimizerOptions,
): Promise<{ loop: LiveLoop; stop(): Promise<void> }> {
  await migrateOptimizer(o.store);
  const worker = o.solver ?? new SolveWorker();
  const say = o.say ?? (() => {});
  const stored = storeForecaster(o.site, new ForecastStore(o.store.readings), { meanLoadKw: o.meanLoadKw });
  const grid = gridPowerPoints(o.site).map((pointId) => ({ pointId, sign: 1 as const }));
  const currency = o.siteTariff?.currency ?? (o.tariff ?? DEFAULT_TARIFF).currency;
  const loop = new LiveLoop({
    site: o.site,
    readings$: o.readings$,
    clock: Date.now,
    forecast: o.weather ? weatherForecaster(stored, o.weather, o.pvArrays ?? []) : stored,
    tariff: o.tariff ?? DEFAULT_TARIFF,
    ...(o.siteTariff
      ? {
          prices: siteTariffPrices(o.siteTariff, {
            ...(o.spot ? { spot: o.spot } : {}),
            // Without a grid meter nothing was measured: the charge starts from 0 kW.
            ...(grid.length > 0
              ? {
                  peakSoFarKw: (nowMs: number) =>
                    monthPeakSoFar(o.store.readings, grid, nowMs, o.siteTariff!.timezone),
                }
              : {}),
          }),
        }
      : {}),
    solve: sitePlanner({
      worker,
      stabilityPenaltyPerKwh: o.stabilityPenaltyPerKwh ?? 0.005,
      site: o.site.id,
    }),
    budgetMs: o.budgetMs ?? 20_000,
    sink: new GatewaySetpointSink(o.write, { ...o.setpoints, clock: Date.now }),
    ...(o.writes$ ? { writes$: o.writes$ } : {}),
    plans: new PlanRepository(o.store.db),
    ...(o.obligations$ ? { obligations$: o.obligations$ } : {}),
  });
  let planned = false;
  let waited = false;
  // Right after a start the first readings are seconds away: waiting is only worth a line when
  // it lasts (a meter that never answers), not on every start.
  let waiting: NodeJS.Timeout | undefined;
  loop.events$.subscribe((e) => {
    if (e.kind === 'plan') clearTimeout(waiting);
    if (e.kind === 'plan' && e.plan.source !== 'solved')
      say(`optimizer: ${o.site.id}: ${e.plan.message ?? `${e.plan.source} plan`}`);
    else if (e.kind === 'plan' && !planned) {
      planned = true;
      say(
        `optimizer: ${o.site.id}: first plan, saving ${e.plan.result?.savings?.toFixed(2) ?? '?'} ${currency} over the horizon against no control`,
      );
    } else if (e.kind === 'waiting' && !waited) {
      waited = true;
      const why = e.message;
      waiting = setTimeout(
        () =>
          say(
            `optimizer: ${o.site.id}: still waiting for measurements after ${WAIT_NOTICE_MS / 1000} s (${why})`,
          ),
        WAIT_NOTICE_MS,
      );
      waiting.unref();
    } else if (e.kind === 'error') say(`optimizer: ${o.site.id}: ${e.message}`);
    else if (e.kind === 'dispatch')
      for (const w of e.writes)
        if (w.outcome !== 'written' && w.outcome !== 'unverified')
          say(`optimizer: ${o.site.id}: ${w.pointId || w.assetId} ${w.outcome}: ${w.reason ?? ''}`);
  });
  loop.start();
  return {
    loop,
    stop: async () => {
      clearTimeout(waiting);
      await loop.stop();
      if (worker !== o.solver) await worker.close();
    },
  };
}
