import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Site } from '../model/index.js';
import type { PvDevice } from '../sim/physics/building.js';
import { profileForecaster } from './live.js';
import type { PriceProvider } from './live-prices.js';
import { simLiveLoop, zevBernBatteryGateway, zevBernHouse } from './testing.js';

/** The demo's zev-bern house with its 30 kWp array bound for curtailment (SunSpec 123). */
const PV_SITE: Site = zevBernHouse([
  {
    id: 'pv',
    type: 'pv',
    kwp: 30,
    inverterKw: 27,
    measure: { power: 'zev-bern/house-pv/power' },
    control: {
      limit_pct: 'zev-bern/house-pv/limit_pct',
      limit_enable: 'zev-bern/house-pv/limit_enable',
      revert_timeout: 'zev-bern/house-pv/revert_timeout',
    },
    lease: { revertS: 300 },
  },
]);

describe('live optimiser curtails PV on the simulator', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('limits the inverter while a kWh fed in costs money, and lifts the limit when it pays again', async () => {
    // Noon in Bern in June: the array makes far more than the house uses.
    const { sim, hub, gw } = await zevBernBatteryGateway(cleanup, {
      startMs: Date.parse('2026-06-15T10:00:00Z'),
      settleS: 5,
      devices: ['house-pv'],
    });
    const pv = sim.buildings[0]!.device('pv') as PvDevice;
    // Feed-in at a negative spot price (as at sunny noons), then back to a positive one.
    let exportPerKwh = -0.05;
    const prices: PriceProvider = async (_start, slots) => ({
      import: Array(slots).fill(0.25),
      export: Array(slots).fill(exportPerKwh),
      currency: 'EUR',
    });
    const ticks = new Subject<number>();
    const { loop, next } = simLiveLoop(
      { sim, hub, gw },
      { site: PV_SITE, forecast: profileForecaster(PV_SITE, { meanLoadKw: 2 }), prices },
      ticks,
    );
    cleanup.push(() => loop.stop());
    const dispatch = () => next('dispatch');

    // No state to wait for (no battery, no zone): the first slot tick plans.
    expect((await gw.pollOnce()).errors).toEqual([]);
    const first = dispatch();
    ticks.next(0);
    const curtailed = await first;
    const sp = curtailed.setpoints.find((s) => s.assetId === 'pv')!;
    // The plan keeps about the house's load and curtails the rest; the inverter is told so.
    expect(sp.release).toBeUndefined();
    expect(-sp.kw).toBeGreaterThan(0.5);
    expect(-sp.kw).toBeLessThan(6);
    expect(curtailed.writes.map((w) => [w.pointId, w.outcome])).toEqual([
      ['zev-bern/house-pv/revert_timeout', 'written'],
      ['zev-bern/house-pv/limit_pct', 'written'],
      ['zev-bern/house-pv/limit_enable', 'written'],
    ]);
    expect(pv.limitEnabled).toBe(true);
    expect(pv.limitPct).toBeCloseTo((-sp.kw / 27) * 100, 0);
    expect(pv.watchdog.timeoutMs).toBe(300_000);
    sim.advanceBy(30);
    expect((await gw.pollOnce()).errors).toEqual([]);
    // The simulated inverter now feeds at most its limit (its meter counts generation negative).
    expect(-pv.meter.powerW).toBeLessThanOrEqual((pv.limitPct / 100) * 27_000 + 1);
    expect(pv.availableW).toBeGreaterThan(-pv.meter.powerW + 1000);
    console.log(
      `curtailed: limit ${pv.limitPct} % (${(-sp.kw).toFixed(2)} kW), feeding ${(-pv.meter.powerW / 1000).toFixed(2)} kW of ${(pv.availableW / 1000).toFixed(2)} kW available`,
    );
    const why = gw.records.find((r) => r.point === 'limit_pct')!.why;
    expect(why).toMatch(/^Plan for 12:00–12:15 \(solved at 12:00\): pv limited to \d+\.\d kW$/);

    // Feed-in pays again: the next plan uses all of it and the inverter's limit is switched off.
    exportPerKwh = 0.08;
    const released = dispatch();
    ticks.next(1);
    const back = await released;
    expect(back.setpoints.find((s) => s.assetId === 'pv')).toMatchObject({ release: true });
    expect(back.writes.map((w) => [w.pointId, w.value, w.outcome])).toEqual([
      ['zev-bern/house-pv/limit_enable', 0, 'written'],
    ]);
    expect(pv.limitEnabled).toBe(false);
    sim.advanceBy(30);
    expect((await gw.pollOnce()).errors).toEqual([]);
    expect(-pv.meter.powerW).toBeCloseTo(pv.availableW, -2);

    // Released, nothing is rewritten: a further check sends no write, not even a lease.
    sim.advanceBy(600);
    const quiet = dispatch();
    await loop.dispatch();
    expect((await quiet).writes).toEqual([]);
  }, 120_000);
});
