import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenario.js';
import { stepBattery } from './battery.js';
import type { BatteryDevice, HeatPumpDevice, PvDevice } from './building.js';
import { controls } from './controls.js';
import { frequencyHz } from './grid.js';
import { Simulation } from './simulation.js';
import { clearSkyGhi, sunPosition } from './sun.js';
import { stepZone } from './thermal.js';

const JUNE_NOON_BERN = Date.parse('2026-06-21T11:30:00Z');
const bern = await loadScenario('zev-bern');

function deviceOf<T>(sim: Simulation, id: string): T {
  return sim.buildings[0]!.device(id) as T;
}

describe('sun and PV', () => {
  it('puts the sun about 66.5° high over Bern at midsummer solar noon and below the horizon at midnight', () => {
    expect(sunPosition(46.95, 7.45, JUNE_NOON_BERN).elevationDeg).toBeCloseTo(66.5, 0);
    expect(sunPosition(46.95, 7.45, Date.parse('2026-06-21T23:30:00Z')).elevationDeg).toBeLessThan(0);
    expect(clearSkyGhi(-5)).toBe(0);
    expect(clearSkyGhi(60)).toBeGreaterThan(800);
  });

  it('produces at noon, not at night, and obeys the active-power limit', () => {
    const sim = new Simulation(bern, { seed: 1, startMs: JUNE_NOON_BERN });
    sim.advanceBy(10);
    const pv = deviceOf<PvDevice>(sim, 'pv');
    expect(pv.meter.powerW).toBeLessThan(-1000);
    controls.pvLimit(pv, 10, true, sim.tMs);
    sim.advanceBy(1);
    expect(-pv.meter.powerW).toBeLessThanOrEqual(2700 + 1e-9);
    const night = new Simulation(bern, { seed: 1, startMs: Date.parse('2026-06-21T23:00:00Z') });
    night.advanceBy(10);
    expect(deviceOf<PvDevice>(night, 'pv').meter.powerW).toBe(0);
  });
});

describe('energy balance and meters', () => {
  it('keeps every counter monotonic and the grid meter equal to the sum of the units, over a day', () => {
    const sim = new Simulation(bern, { seed: 7, startMs: Date.parse('2026-03-10T00:00:00Z'), maxStepS: 30 });
    const b = sim.buildings[0]!;
    const battery = deviceOf<BatteryDevice>(sim, 'battery');
    let prev = [b.gridMeter, ...b.devices.map((d) => d.meter)].map((m) => ({ ...m }));
    for (let i = 0; i < 96; i++) {
      controls.batteryPower(battery, i % 8 < 4 ? 8000 : -9000, sim.tMs);
      sim.advanceBy(900);
      const meters = [b.gridMeter, ...b.devices.map((d) => d.meter)];
      meters.forEach((m, k) => {
        expect(m.importWh).toBeGreaterThanOrEqual(prev[k]!.importWh);
        expect(m.exportWh).toBeGreaterThanOrEqual(prev[k]!.exportWh);
      });
      prev = meters.map((m) => ({ ...m }));
      const net = b.devices.reduce((s, d) => s + d.meter.importWh - d.meter.exportWh, 0);
      expect(b.gridMeter.importWh - b.gridMeter.exportWh).toBeCloseTo(net, 6);
      const powerSum = b.devices.reduce((s, d) => s + d.meter.powerW, 0);
      expect(b.gridMeter.powerW).toBeCloseTo(powerSum, 6);
    }
    expect(b.gridMeter.importWh).toBeGreaterThan(10_000);
  });
});

describe('battery', () => {
  const params = {
    capacityWh: 20_000,
    maxChargeW: 10_000,
    maxDischargeW: 8_000,
    chargeEfficiency: 0.95,
    dischargeEfficiency: 0.9,
    minSocPct: 10,
    maxSocPct: 90,
  };

  it('never leaves its SoC band or power limits, whatever the setpoints', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -20_000, max: 20_000 }), fc.integer({ min: 1, max: 3600 })), {
          maxLength: 200,
        }),
        (steps) => {
          let stored = 10_000;
          for (const [sp, dt] of steps) {
            const r = stepBattery(params, stored, sp, dt);
            expect(r.powerW).toBeLessThanOrEqual(params.maxChargeW);
            expect(r.powerW).toBeGreaterThanOrEqual(-params.maxDischargeW);
            expect(Math.sign(r.powerW) * Math.sign(sp)).toBeGreaterThanOrEqual(0);
            expect(r.storedWh).toBeGreaterThanOrEqual(2000 - 1e-9);
            expect(r.storedWh).toBeLessThanOrEqual(18_000 + 1e-9);
            stored = r.storedWh;
          }
        },
      ),
    );
  });

  it('loses energy to efficiency: stored gain is P·ηc·t', () => {
    const r = stepBattery(params, 10_000, 4000, 3600);
    expect(r.powerW).toBe(4000);
    expect(r.storedWh).toBeCloseTo(13_800, 9);
  });
});

describe('thermal zone', () => {
  const zone = { capacitanceKwhPerK: 40, resistanceKPerKw: 2, maxW: 8000, cop: 3.2 };

  it('holds the comfort band in winter (−5 °C) with the heat pump on', () => {
    let s = { indoorC: 21, heating: false };
    const ctl = { setpointC: 21, bandC: 1, enabled: true, limitPct: 100 };
    for (let i = 0; i < 48 * 60; i++) {
      s = stepZone(zone, s, ctl, -5, 60);
      expect(s.indoorC).toBeGreaterThan(20.45);
      expect(s.indoorC).toBeLessThan(21.55);
    }
  });

  it('cools towards the outdoor temperature without heating, never below it', () => {
    let s = { indoorC: 21, heating: false };
    const ctl = { setpointC: 21, bandC: 1, enabled: false, limitPct: 100 };
    let last = 21;
    for (let i = 0; i < 1000; i++) {
      s = stepZone(zone, s, ctl, -10, 3600);
      expect(s.indoorC).toBeLessThanOrEqual(last);
      expect(s.indoorC).toBeGreaterThanOrEqual(-10);
      last = s.indoorC;
    }
    expect(last).toBeCloseTo(-10, 1);
  });
});

describe('fail-safe', () => {
  it('returns the battery to idle and the PV to unlimited when setpoints are not refreshed in time', () => {
    const sim = new Simulation(bern, { seed: 3, startMs: JUNE_NOON_BERN });
    expect(bern.failsafeTimeoutS).toBe(60);
    const battery = deviceOf<BatteryDevice>(sim, 'battery');
    const pv = deviceOf<PvDevice>(sim, 'pv');
    controls.batteryPower(battery, 5000, sim.tMs);
    controls.pvLimit(pv, 0, true, sim.tMs);
    sim.advanceBy(30);
    controls.batteryPower(battery, 5000, sim.tMs); // refreshed; the PV limit is not
    sim.advanceBy(25);
    expect(pv.meter.powerW).toBeCloseTo(0, 9);
    expect(battery.meter.powerW).toBe(5000);
    sim.advanceBy(10); // t = 65 s: the PV limit has expired
    expect(pv.meter.powerW).toBeLessThan(-1000);
    expect(pv.limitEnabled).toBe(false);
    expect(battery.meter.powerW).toBe(5000);
    sim.advanceBy(30); // t = 95 s: 65 s since the battery's last refresh
    expect(battery.meter.powerW).toBe(0);
    expect(battery.setpointW).toBe(0);
  });

  it('keeps setpoints alive while the BMS heartbeat is refreshed', () => {
    const sim = new Simulation(bern, { seed: 3, startMs: JUNE_NOON_BERN });
    const hp = deviceOf<HeatPumpDevice>(sim, 'heat-pump');
    controls.zone(hp, { setpointC: 18 }, sim.tMs);
    for (let i = 1; i <= 10; i++) {
      sim.advanceBy(40);
      sim.buildings[0]!.beat(i, sim.tMs);
    }
    expect(hp.ctl.setpointC).toBe(18);
    sim.advanceBy(70);
    expect(hp.ctl.setpointC).toBe(21);
  });
});

describe('determinism and grid', () => {
  const run = (seed: number) => {
    const sim = new Simulation(bern, { seed, startMs: Date.parse('2026-01-15T06:00:00Z'), maxStepS: 10 });
    sim.advanceBy(6 * 3600);
    const b = sim.buildings[0]!;
    return { grid: b.gridMeter, units: b.devices.map((d) => d.meter.importWh), f: sim.frequencyHz() };
  };

  it('gives identical runs for the same seed and different runs for different seeds', () => {
    expect(run(42)).toEqual(run(42));
    expect(run(42).grid.importWh).not.toBe(run(43).grid.importWh);
  });

  it('does not depend on the step size for time-driven quantities', () => {
    const a = new Simulation(bern, { seed: 5, startMs: JUNE_NOON_BERN, maxStepS: 1 });
    const b = new Simulation(bern, { seed: 5, startMs: JUNE_NOON_BERN, maxStepS: 60 });
    a.advanceBy(600);
    b.advanceBy(600);
    expect(a.frequencyHz()).toBe(b.frequencyHz());
    expect(a.priceEurMwh()).toBe(b.priceEurMwh());
  });

  it('keeps frequency near 50 Hz with occasional drops to 49.6 Hz', () => {
    const g = bern.grid;
    let min = 99;
    let max = 0;
    const day = Date.parse('2026-02-01T00:00:00Z');
    for (let t = day; t < day + 10 * 86_400_000; t += 1000) {
      const f = frequencyHz(9, g, t);
      min = Math.min(min, f);
      max = Math.max(max, f);
    }
    expect(max).toBeLessThan(50.15);
    expect(min).toBeLessThan(49.62);
    expect(min).toBeGreaterThan(49.5);
  });

  it('starts a frequency event on demand', () => {
    const sim = new Simulation(bern, { seed: 1, startMs: JUNE_NOON_BERN });
    sim.triggerFrequencyEvent(49.6, 20);
    sim.advanceBy(10);
    expect(sim.frequencyHz()).toBeCloseTo(49.6, 1);
  });

  it('gives an hourly day-ahead price and activation requests', () => {
    const sim = new Simulation(bern, { seed: 1, startMs: JUNE_NOON_BERN });
    const h = Date.parse('2026-06-21T10:00:00Z');
    expect(sim.priceEurMwh(h)).toBe(sim.priceEurMwh(h + 3_599_000));
    const prices = Array.from({ length: 24 }, (_, i) => sim.priceEurMwh(h + i * 3_600_000));
    expect(new Set(prices).size).toBeGreaterThan(10);
    const acts = sim.activations(h, h + 7 * 86_400_000);
    expect(acts.length).toBeGreaterThan(5);
    for (const a of acts) expect(a.endMs - a.startMs).toBe(900_000);
  });
});
