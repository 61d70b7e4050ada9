import { describe, expect, it } from 'vitest';
import { type ThermalPlan, thermalComfortKwh } from './thermal.js';

const HOUR = 3_600_000;
// A school gym: C = 10 kWh/K, R = 8 K/kW (RC = 80 h), COP 3, band 20–23 °C, held at 21 °C.
const gym: ThermalPlan = {
  slotMs: HOUR,
  temperatureC: [21, 21, 21, 21],
  cop: 3,
  capacitanceKwhPerK: 10,
  resistanceKPerKw: 8,
  minC: 20,
  maxC: 23,
};

describe('thermal comfort headroom', () => {
  it('turns the comfort margin into energy for a sustain time (hand-computed)', () => {
    const { upKwh, downKwh } = thermalComfortKwh(gym, HOUR);
    // 1 h of ΔP moves the zone by at most 3 · 1 h / 10 kWh/K = 0.3 K per kW: 1 K of margin → 3.333 kW.
    expect(upKwh[0]).toBeCloseTo(1 / 0.3, 9);
    expect(downKwh[0]).toBeCloseTo(2 / 0.3, 9);
  });

  it('takes the tightest margin the plan reaches within the window', () => {
    const { upKwh } = thermalComfortKwh({ ...gym, temperatureC: [21, 21, 20.5, 21] }, HOUR);
    expect(upKwh[0]).toBeCloseTo(0.5 / 0.3, 9); // an activation late in slot 0 reaches slot 2's 20.5 °C
    expect(upKwh[2]).toBeCloseTo(0.5 / 0.3, 9);
  });

  it('never lets a simulated zone leave its band (explicit Euler, 1-min and 15-min steps)', () => {
    const plan = { ...gym, temperatureC: [21.5, 21, 20.6, 20.9, 22.5] };
    const sustainMs = 63 * 60_000;
    const { upKwh } = thermalComfortKwh(plan, sustainMs);
    for (const stepMs of [60_000, 15 * 60_000]) {
      const h = stepMs / HOUR;
      for (let i = 0; i < 4; i++) {
        const dp = upKwh[i]! / (sustainMs / HOUR);
        for (let start = i * HOUR; start <= (i + 1) * HOUR; start += 60_000) {
          let dev = 0;
          for (let t = start; t < start + sustainMs; t += stepMs) {
            const dt = Math.min(h, (start + sustainMs - t) / HOUR);
            dev = dev * (1 - dt / 80) - (3 * dp * dt) / 10;
            const x = Math.min((t + dt * HOUR) / HOUR, 4);
            const k = Math.min(Math.floor(x), 3);
            const planned =
              plan.temperatureC[k]! + (plan.temperatureC[k + 1]! - plan.temperatureC[k]!) * (x - k);
            expect(planned + dev).toBeGreaterThanOrEqual(20 - 1e-9);
          }
        }
      }
    }
  });
});
