import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planActivation } from './activation.js';
import { meterBeforeBaseline } from './baseline.js';
import type { Obligation } from './bids.js';
import { PORTFOLIO, settlementRows } from './delivery.js';
import { findProduct, loadProducts } from './product.js';
import {
  ahuFans,
  batteryAsset,
  fanAssets,
  meanOf,
  type Rig,
  rigExecutor,
  SCHOOL_BATTERY,
  SCHOOL_MORNING,
  schoolLoad,
  startSchoolRig,
  until,
} from './runtime/testing.js';

/**
 * mFRR up end to end: an obligation held by the site, an activation message planned by
 * `planActivation`, the executor splitting it over six fans (OPC UA) and a battery (Modbus)
 * through the gateway's safety layer, and the delivery measured at the simulated grid meter
 * against the meter-before-activation baseline (markets.md B6.4: mean demand over the minute
 * before the instruction), reported by `settlementRows`.
 *
 * The building is made for measuring: a school load with 1 % noise and no PV, so that the
 * baseline is not swamped by clouds or the default 8 % load noise (a real site would bid only
 * what it can prove over its own noise). Tolerance: markets.md gives none for mFRR energy
 * activation; we ask for ±10 % of the requested kW on the mean over the hold and per interval
 * ≥ 80 %, a Gridflex choice [unverified against Fingrid's mFRR terms].
 */
const START = SCHOOL_MORNING; // Wednesday 10:00 in Helsinki
const SITE = 'mfrr-site';
const METER = `${SITE}/school-grid-meter/power`;
const REQUEST_KW = 30;
const INTERVAL_MS = 30_000;
const HOLD_MS = 5 * 60_000; // the product's minimum duration

let rig: Rig;

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'mFRR test school' }, [
    schoolLoad(80, 0.01),
    ahuFans(6),
    SCHOOL_BATTERY,
  ]);
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

describe('mFRR on the simulator', () => {
  it('delivers the requested kW at the grid meter against the meter-before baseline, and the report shows it', async () => {
    const product = findProduct(await loadProducts(), 'mfrr');
    // More than a minute of metering before the request, none of it the simulator's first
    // reading (its meters read 0 W until the physics has taken a step).
    await until(
      'a minute of metering',
      () => rig.history(METER).length > 0 && rig.clock() > rig.history(METER)[0]!.ts + 75_000,
      60_000,
    );
    const t0 = rig.clock();
    const obligation: Obligation = {
      id: 'mfrr:test:0',
      productId: 'mfrr',
      direction: 'up',
      startMs: START,
      endMs: START + 3_600_000,
      kw: 40,
      priceCentsPerMwh: 1000,
      sites: [{ siteId: SITE, kw: 40 }],
      sustainMs: product.fullActivation + product.minDuration,
    };
    const plan = planActivation(
      { id: 'act-mfrr-1', productId: 'mfrr', startMs: t0, durationMs: 10 * 60_000, kw: REQUEST_KW },
      product,
      [obligation],
    );
    expect(plan.sites).toEqual([{ siteId: SITE, kw: REQUEST_KW }]);
    const baseline = meterBeforeBaseline(
      rig.history(METER).map((r) => ({ tMs: r.ts, kw: r.value / 1000 })),
      t0,
      60_000,
    );

    const executor = rigExecutor(rig, {
      assets: [...fanAssets(rig, 'school'), batteryAsset(rig, 'school', { costPerKwh: 1 })],
      gridImportLimitKw: 200,
      siteImportKw: () => rig.latest.get(METER)!.value / 1000,
    });
    try {
      const status = await executor.start(plan);
      expect(status.state).toBe('active');
      expect(status.sites[0]!.dispatchedKw).toBeCloseTo(REQUEST_KW, 6);
      // Every setpoint of the activation written, on the gateway's (simulated) clock, before
      // the product's full-activation time.
      await until('every setpoint written', () => lastWriteMs(plan.id) !== undefined, 60_000);
      const fullAt = lastWriteMs(plan.id)!;
      expect(fullAt).toBeLessThan(plan.fullByMs);

      // The hold: whole intervals from the first one after the writes (the meter lags a poll).
      const from = Math.ceil((fullAt + INTERVAL_MS) / INTERVAL_MS) * INTERVAL_MS;
      const to = from + HOLD_MS;
      await until('the hold to be metered', () => rig.clock() > to + INTERVAL_MS, 120_000);
      const metered: number[] = [];
      for (let t = from; t < to; t += INTERVAL_MS)
        metered.push(meanOf(rig, METER, t, t + INTERVAL_MS)! / 1000);
      expect(metered.every(Number.isFinite)).toBe(true);

      const rows = settlementRows([
        {
          activationId: plan.id,
          productId: plan.productId,
          direction: plan.direction,
          startMs: from,
          intervalMs: INTERVAL_MS,
          sites: [
            {
              siteId: SITE,
              requestedKw: REQUEST_KW,
              baselineKw: metered.map(() => baseline),
              meteredKw: metered,
            },
          ],
        },
      ]);
      const site = rows.find((r) => r.siteId === SITE)!;
      const portfolio = rows.find((r) => r.siteId === PORTFOLIO)!;
      const requestedWh = (REQUEST_KW * HOLD_MS) / 3_600;
      console.log(
        `mFRR: baseline ${baseline.toFixed(1)} kW, delivered ${(site.deliveredWh / 1000).toFixed(3)} of ${(requestedWh / 1000).toFixed(3)} kWh, ratio ${site.performanceRatio}, shortfall ${site.shortfallWh} Wh, setpoints written ${((fullAt - t0) / 1000).toFixed(1)} s (simulated) after the request; metered ${metered.map((m) => m.toFixed(1)).join('/')} kW; ${JSON.stringify(executor.status(plan.id)?.sites[0]?.messages)}`,
      );
      expect(site.requestedWh).toBe(requestedWh);
      expect(Math.abs(site.deliveredWh - requestedWh)).toBeLessThan(0.1 * requestedWh);
      expect(site.performanceRatio).toBeGreaterThan(0.9);
      expect(site.performanceRatio).toBeLessThan(1.1);
      for (const m of metered) expect(baseline - m).toBeGreaterThan(0.8 * REQUEST_KW);
      expect(portfolio.deliveredWh).toBe(site.deliveredWh);
      await executor.stop(plan.id, 'test over');
      await until('the restore to end', () => executor.status(plan.id)?.state === 'done', 120_000);
    } finally {
      executor.close();
    }
  }, 300_000);
});

function records(id: string) {
  return rig.gateway.records.filter((r) => r.who === 'market' && r.why.endsWith(`activation ${id}`));
}
/**
 * When every setpoint of the activation had been taken once (gateway clock): the latest of
 * each point's first accepted write. Undefined while a point has none (rate limit, in flight).
 */
function lastWriteMs(id: string): number | undefined {
  const first = new Map<string, number | undefined>();
  for (const r of records(id)) {
    const key = `${r.device}/${r.point}`;
    if (!first.has(key)) first.set(key, undefined);
    if (r.outcome === 'written' && first.get(key) === undefined) first.set(key, r.ts);
  }
  const ts = [...first.values()];
  return ts.length === 0 || ts.includes(undefined) ? undefined : Math.max(...(ts as number[]));
}
