import { Subject } from 'rxjs';
import type { RecentMeanOptions } from '../control/recent-mean.js';
import type { Rig } from '../market/runtime/testing.js';
import type { Site } from '../model/index.js';
import { GatewaySetpointSink, LiveLoop, optimize, profileForecaster, SOLVERS } from '../optimizer/index.js';
import type { PriceProvider } from '../optimizer/live-prices.js';
import { nextEvent } from '../optimizer/testing.js';
import { type AppContext, type AppOptions, buildApp as buildServerApp } from '../server/index.js';
import { marketDispatch } from './market-executor.js';
import { serverModules } from './server-modules.js';

/**
 * `buildApp` for tests: the context without `modules` gets the same module services
 * `gridflex run` gives the server (app/server-modules.ts), built on the context's store.
 */
export async function buildApp(
  ctx: Omit<AppContext, 'modules'> & Partial<Pick<AppContext, 'modules'>>,
  options?: AppOptions,
): ReturnType<typeof buildServerApp> {
  return buildServerApp({ ...ctx, modules: ctx.modules ?? (await serverModules(ctx.store)) }, options);
}

/**
 * The live optimiser on a market rig's site (market/runtime/testing.ts): its readings, clock
 * and gateway, prices from `prices`, slot ticks driven by the test (`ticks.next()`), no
 * periodic re-check. `next(kind)` waits for the loop's next event of that kind.
 */
export function liveLoopOnRig(
  rig: Rig,
  site: Site,
  prices: PriceProvider,
  o: { meanLoadKw?: number; outdoorC?: number } = {},
) {
  const ticks = new Subject<number>();
  const loop = new LiveLoop({
    site,
    readings$: rig.hub.readings$,
    clock: rig.clock,
    forecast: profileForecaster(site, {
      meanLoadKw: o.meanLoadKw ?? 40,
      ...(o.outdoorC === undefined ? {} : { outdoorC: o.outdoorC }),
    }),
    prices,
    ticks$: ticks,
    solve: (request) => optimize(request.problem, SOLVERS.highs),
    budgetMs: 60_000,
    sink: new GatewaySetpointSink((r) => rig.gateway.write(r), { clock: rig.clock }),
    writes$: rig.hub.topic('writes'),
    refreshMs: 0,
    // The safety layer's rate limit is 5 s on the gateway's clock: 250 ms here at the rigs' 20×.
    minDispatchGapMs: 400,
  }).start();
  return { loop, ticks, next: nextEvent(loop) };
}

/**
 * The market's executor as `gridflex run` builds it (`marketDispatch`) for a market rig's site:
 * the rig's hub, clock and gateway (polling `<site>/school-bms`), follow-ups every 500 ms.
 */
export function rigMarketDispatch(rig: Rig, site: Site, o: { heatPumpMean?: RecentMeanOptions } = {}) {
  const dispatch = marketDispatch({
    sites: [site],
    hub: rig.hub,
    gateways: {
      write: (_site, req) => rig.gateway.write(req),
      writeMany: (_site, reqs) => rig.gateway.writeMany(reqs),
      devices: () => [`${site.id}/school-bms`],
    },
    now: rig.clock,
    followUpMs: 500,
    ...o,
  });
  if (!dispatch) throw new Error(`${site.id} has nothing the market could move`);
  return dispatch;
}
