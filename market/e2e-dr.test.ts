import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation } from '../sim/physics/simulation.js';
import type { Scenario } from '../sim/scenario.js';
import { planActivation } from './activation.js';
import { type DayProfile, dayMatchingBaseline, TEN_OF_TEN } from './baseline.js';
import type { Obligation } from './bids.js';
import { settlementRows } from './delivery.js';
import { findProduct, loadProducts } from './product.js';
import { HeatPumpAssetSchema } from './runtime/assets.js';
import {
  ahuFans,
  fanAssets,
  finnishSchool,
  isGridPower,
  meanOf,
  type Rig,
  rigExecutor,
  schoolHeatPump,
  schoolLoad,
  startRig,
  until,
} from './runtime/testing.js';

/**
 * A demand-response event end to end: the operator asks a school for 25 kW less for an hour
 * from 10:00 (Helsinki; the next quarter hour if the simulator came up late). The executor sheds its six fans to their floor (OPC UA speed setpoints) and
 * lets its heat-pump zone coast (setpoint lowered to where the thermostat's switch-on point is
 * the comfort limit), all through the gateway's safety layer; the zone may not go below 20 °C.
 *
 * Baseline: CAISO 10-of-10 with the multiplicative same-day adjustment over [t0 − 4 h,
 * t0 − 1 h) clamped to 0.8–1.2 (`TEN_OF_TEN`, markets.md B6.1). It fits this building: a school
 * on a weekday schedule whose heating follows the weather, so the ten most recent weekdays
 * give the shape and the morning of the event day scales it to today's temperature. The
 * history exists because the test makes it: the same scenario and seed run as pure physics
 * (sim/physics, no servers) over the two weeks before, metered from the grid meter's counters
 * in 15-min intervals (the product's measurement resolution), and on into the event morning
 * for the adjustment window. The live simulator (Modbus + OPC UA, 60×) runs from 9:45; it starts from the scenario's initial state (zone at 21 °C), not
 * from where the pure run left the zone — the pump's on/off phase at 10:00 differs, which a
 * day-matching baseline does not see anyway.
 */
const SPEED = 60;
const RIG_START = Date.parse('2026-11-18T07:45:00Z'); // Wednesday 9:45 in Helsinki
const DAY_MS = 86_400_000;
const INTERVAL_MS = 15 * 60_000;
const MIDNIGHT = Date.parse('2026-11-17T22:00:00Z'); // 00:00 on the event day in Helsinki (UTC+2)
const HISTORY_FROM = MIDNIGHT - 14 * DAY_MS; // Wednesday 4 November, 00:00
const SITE = 'dr-site';
const METER = `${SITE}/school-grid-meter/power`;
const ZONE = `${SITE}/school-bms/main-temperature`;
const REQUEST_KW = 25;
const COMFORT_MIN_C = 20;

const SCENARIO: Scenario = finnishSchool(
  {
    id: SITE,
    name: 'DR test school',
    climate: { annualMeanC: 4.5, annualAmplitudeC: 12, dailyAmplitudeC: 4, meanCloud: 0.6 },
  },
  [schoolLoad(120, 0.02), ahuFans(6), schoolHeatPump(21, 0.1)],
);

/**
 * 15-min demand per local day from the pure physics, the heat pump's mean draw 10–11 h, and
 * the event day's intervals before `t0` (the same-day adjustment reads them).
 */
function history(t0: number): {
  days: DayProfile[];
  eventMorning: number[];
  pumpKw: number;
  /** The event hour as the pure physics ran it without the event (for the log: the baseline's error). */
  withoutEvent: number[];
} {
  const sim = new Simulation(SCENARIO, { seed: 7, startMs: HISTORY_FROM, maxStepS: 30 });
  const b = sim.building('school')!;
  const pump = b.device('heat-pump')!;
  const net = () => b.gridMeter.importWh - b.gridMeter.exportWh;
  const days: DayProfile[] = [];
  let pumpWh = 0;
  let pumpHours = 0;
  for (let day = HISTORY_FROM; day < MIDNIGHT; day += DAY_MS) {
    const kw: number[] = [];
    for (let t = day; t < day + DAY_MS; t += INTERVAL_MS) {
      const [e0, p0] = [net(), pump.meter.importWh];
      sim.advanceTo(t + INTERVAL_MS);
      kw.push(((net() - e0) / 1000) * 4);
      const local = (t - day) / 3_600_000;
      if (local >= 10 && local < 11) {
        pumpWh += pump.meter.importWh - p0;
        pumpHours += 0.25;
      }
    }
    const weekday = new Date(day + 2 * 3_600_000).getUTCDay();
    if (weekday !== 0 && weekday !== 6)
      days.unshift({ date: new Date(day + 2 * 3_600_000).toISOString().slice(0, 10), kw });
  }
  const eventMorning: number[] = [];
  for (let t = MIDNIGHT; t < t0; t += INTERVAL_MS) {
    const e0 = net();
    sim.advanceTo(t + INTERVAL_MS);
    eventMorning.push(((net() - e0) / 1000) * 4);
  }
  const withoutEvent: number[] = [];
  for (let t = t0; t < t0 + 3_600_000; t += INTERVAL_MS) {
    const e0 = net();
    sim.advanceTo(t + INTERVAL_MS);
    withoutEvent.push(((net() - e0) / 1000) * 4);
  }
  return { days, eventMorning, pumpKw: pumpWh / 1000 / pumpHours, withoutEvent };
}

let rig: Rig;
/** The event's start: the first quarter hour a minute after the rig is up (10:00 unless setup is slow). */
let T0: number;
let pumpKw: number;

beforeAll(async () => {
  pumpKw = history(MIDNIGHT).pumpKw;
  rig = await startRig(SCENARIO, {
    speed: SPEED,
    startMs: RIG_START,
    point: (d, p) => (isGridPower(d, p) || p.id === 'main-temperature' ? { ...p, pollInterval: '250ms' } : p),
  });
  await until('the grid meter and the zone', () => rig.latest.has(METER) && rig.latest.has(ZONE), 60_000);
  T0 = Math.ceil((rig.clock() + 60_000) / INTERVAL_MS) * INTERVAL_MS;
}, 120_000);

afterAll(async () => {
  await rig?.stop();
});

describe('a demand-response event on the simulator', () => {
  it('sheds fans and coasts the heat pump for the hour, keeps the zone above its comfort limit, and the 10-of-10 report shows the kW', async () => {
    expect(pumpKw).toBeGreaterThan(5);

    const product = findProduct(await loadProducts(), 'dr-event');
    const obligation: Obligation = {
      id: 'dr-event:test:0',
      productId: 'dr-event',
      direction: 'up',
      startMs: T0 - 3_600_000,
      endMs: T0 + 2 * 3_600_000,
      kw: 30,
      priceCentsPerMwh: 0,
      sites: [{ siteId: SITE, kw: 30 }],
      sustainMs: product.fullActivation + product.minDuration,
    };
    const plan = planActivation(
      { id: 'dr-1', productId: 'dr-event', startMs: T0, durationMs: 3_600_000, kw: REQUEST_KW },
      product,
      [obligation],
    );
    const heatPump = HeatPumpAssetSchema.parse({
      kind: 'heat_pump',
      id: 'school-heat-pump',
      siteId: SITE,
      device: 'school-bms',
      setpointPoint: 'main-setpoint',
      baseSetpointC: 21,
      coastSetpointC: COMFORT_MIN_C + 0.1,
      bandC: 0.1,
      comfortMinC: COMFORT_MIN_C,
      meanKw: pumpKw,
      costPerKwh: 1,
    });
    const executor = rigExecutor(rig, {
      assets: [...fanAssets(rig, 'school'), heatPump],
      gridImportLimitKw: 250,
      siteImportKw: () => rig.latest.get(METER)!.value / 1000,
    });
    try {
      await until('the event start', () => rig.clock() >= T0, 240_000);
      const status = await executor.start(plan);
      expect(status.sites[0]!.messages).toEqual([]);
      expect(status.state).toBe('active');
      const zoneSim = rig.sim.sim.building('school')!.device('heat-pump')!;
      if (zoneSim.type !== 'heat_pump') throw new Error('no zone');
      expect(zoneSim.ctl.setpointC).toBeCloseTo(COMFORT_MIN_C + 0.1, 6);
      await until('the end of the event', () => executor.status(plan.id)?.state !== 'active', 240_000);
      await until('the restore', () => executor.status(plan.id)?.state === 'done', 120_000);
      expect(zoneSim.ctl.setpointC).toBe(21);

      const { days, eventMorning, withoutEvent } = history(T0);
      expect(days).toHaveLength(10);
      expect(days[0]!.date).toBe('2026-11-17');
      const metered: number[] = [];
      for (let t = T0; t < plan.endMs; t += INTERVAL_MS)
        metered.push(meanOf(rig, METER, t, t + INTERVAL_MS)! / 1000);
      const i0 = eventMorning.length;
      const eventDay: DayProfile = {
        date: '2026-11-18',
        // Only the morning (the adjustment window) is read; the rest of the day is not metered yet.
        kw: [...eventMorning, ...metered, ...Array<number>(96 - i0 - metered.length).fill(Number.NaN)],
      };
      const baseline = dayMatchingBaseline(
        days,
        eventDay,
        { startIndex: i0, endIndex: i0 + metered.length, intervalMs: INTERVAL_MS },
        TEN_OF_TEN,
      );
      expect(baseline.daysUsed).toHaveLength(10);
      expect(baseline.adjustment).not.toBeNull();
      const [site] = settlementRows([
        {
          activationId: plan.id,
          productId: plan.productId,
          direction: plan.direction,
          startMs: T0,
          intervalMs: INTERVAL_MS,
          sites: [{ siteId: SITE, requestedKw: REQUEST_KW, baselineKw: baseline.kw, meteredKw: metered }],
        },
      ]);
      // Honoured: at least 90 % of the energy asked for over the hour (a DR event has no upper
      // tolerance: using less than asked is not a fault).
      expect(site!.requestedWh).toBe(REQUEST_KW * 1000);
      expect(site!.performanceRatio).toBeGreaterThan(0.9);

      // Comfort: the zone never under its limit, during the event or after it.
      const zone = rig.history(ZONE).filter((r) => r.ts >= T0);
      expect(zone.length).toBeGreaterThan(20);
      expect(Math.min(...zone.map((r) => r.value))).toBeGreaterThanOrEqual(COMFORT_MIN_C);
      // The pump really coasted: off for the whole hour, the zone cooling.
      const pumpOnKw = meanOf(rig, `${SITE}/school-bms/main-heat-pump-power`, T0 + 60_000, plan.endMs);
      if (pumpOnKw !== undefined) expect(pumpOnKw).toBeLessThan(1000);
      console.log(
        `DR: baseline ${baseline.kw.map((x) => x.toFixed(1)).join('/')} kW (adjustment ×${baseline.adjustment?.toFixed(3)}; the same hour without the event in the pure run ${withoutEvent.map((x) => x.toFixed(1)).join('/')} kW), metered ${metered.map((x) => x.toFixed(1)).join('/')} kW, delivered ${site!.deliveredWh} of ${site!.requestedWh} Wh (ratio ${site!.performanceRatio}), zone min ${Math.min(...zone.map((r) => r.value)).toFixed(2)} °C, pump mean at 10–11 h ${pumpKw.toFixed(1)} kW`,
      );
    } finally {
      executor.close();
    }
  }, 600_000);
});
