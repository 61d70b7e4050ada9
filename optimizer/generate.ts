import type { AssetProblem, ProblemInput } from './problem.js';

/** mulberry32: a small seeded generator, so random instances are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomProblemOptions {
  assets: number;
  slots?: number;
  slotMinutes?: number;
  /** Charge per kW of peak import (adds the peak rows). */
  peakChargePerKw?: number;
  /** Some export prices below zero around midday. */
  negativeExport?: boolean;
}

const TYPES = ['battery', 'shiftable', 'sheddable', 'thermal', 'ev'] as const;

/**
 * A feasible site day with a mix of every asset type (in turn), PV, a day-shaped tariff and
 * an export limit, for tests and benchmarks. Same seed, same problem.
 */
export function randomProblem(seed: number, o: RandomProblemOptions): ProblemInput {
  const r = rng(seed);
  const T = o.slots ?? 96;
  const slotMinutes = o.slotMinutes ?? 15;
  const dt = slotMinutes / 60;
  const between = (lo: number, hi: number) => lo + (hi - lo) * r();
  const day = (t: number) => t / T;
  const pvPeak = between(3, 10) * Math.max(1, o.assets / 4);
  const pvKw = Array.from({ length: T }, (_, t) => {
    const s = Math.sin(Math.PI * ((day(t) - 0.25) / 0.5));
    return day(t) > 0.25 && day(t) < 0.75 ? pvPeak * s * between(0.7, 1) : 0;
  });
  const importPrice = Array.from(
    { length: T },
    (_, t) => 0.2 + 0.1 * Math.sin(2 * Math.PI * day(t)) + between(0, 0.05),
  );
  const exportPrice = Array.from({ length: T }, (_, t) =>
    o.negativeExport && pvKw[t]! > 0.8 * pvPeak ? -between(0.01, 0.05) : between(0.03, 0.08),
  );
  const baseLoadKw = Array.from({ length: T }, () => between(1, 4) * Math.max(1, o.assets / 8));
  const assets: AssetProblem[] = [];
  for (let i = 0; i < o.assets; i++) {
    const type = TYPES[i % TYPES.length]!;
    const id = `${type}-${i}`;
    switch (type) {
      case 'battery': {
        const cap = between(5, 20);
        assets.push({
          type,
          id,
          capacityKwh: cap,
          minSocKwh: 0.1 * cap,
          maxChargeKw: cap / 2,
          maxDischargeKw: cap / 2,
          chargeEfficiency: between(0.9, 0.97),
          dischargeEfficiency: between(0.9, 0.97),
          initialKwh: 0.5 * cap,
          finalMinKwh: 0.3 * cap,
          wearCostPerKwh: between(0, 0.02),
        });
        break;
      }
      case 'shiftable': {
        const maxKw = between(1, 3);
        const earliestSlot = Math.floor(between(0, T / 2));
        const deadlineSlot = Math.min(T, earliestSlot + Math.floor(between(T / 4, T / 2)));
        assets.push({
          type,
          id,
          maxKw,
          earliestSlot,
          deadlineSlot,
          energyKwh: maxKw * dt * (deadlineSlot - earliestSlot) * between(0.2, 0.6),
        });
        break;
      }
      case 'sheddable':
        assets.push({
          type,
          id,
          baselineKw: Array.from({ length: T }, () => between(0.5, 3)),
          maxShedFraction: between(0.3, 0.8),
          costPerKwh: between(0.05, 0.5),
        });
        break;
      case 'thermal':
        assets.push({
          type,
          id,
          maxKw: between(3, 5),
          cop: between(2.5, 4),
          capacitanceKwhPerK: between(5, 15),
          resistanceKPerKw: between(5, 15),
          initialC: 21,
          outdoorC: Array.from({ length: T }, (_, t) => 5 + 5 * Math.sin(2 * Math.PI * (day(t) - 0.3))),
          minC: 20,
          maxC: 23,
        });
        break;
      case 'ev': {
        const maxKw = between(7, 11);
        const arrivalSlot = Math.floor(between(0, T / 3));
        const departureSlot = Math.min(T, arrivalSlot + Math.floor(T / 3));
        assets.push({
          type,
          id,
          maxKw,
          arrivalSlot,
          departureSlot,
          energyKwh: maxKw * dt * (departureSlot - arrivalSlot) * between(0.2, 0.6),
        });
        break;
      }
    }
  }
  return {
    slotMinutes,
    prices: { import: importPrice, export: exportPrice },
    grid: { exportLimitKw: 0.6 * pvPeak },
    baseLoadKw,
    pvKw,
    peakChargePerKw: o.peakChargePerKw ?? 0,
    assets,
  };
}
