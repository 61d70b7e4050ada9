import { decisionBlocks, horizon, type Problem, slotHours, valueAt, window } from './problem.js';
import type { Schedule } from './schedule.js';

/**
 * The model of README.md checked directly against a schedule, written apart from the LP
 * builder so that a mistake in one is caught by the other. Used on every solver result in
 * tests, and on baselines to say which constraints an uncontrolled site breaks.
 */
export interface CheckResult {
  violations: string[];
}

export interface CostBreakdown {
  /** Σ (importPrice·import − exportPrice·export)·Δt */
  energy: number;
  shedding: number;
  peak: number;
  wear: number;
  total: number;
}

/** The model's objective evaluated on a schedule. */
export function scheduleCost(p: Problem, s: Schedule): CostBreakdown {
  const T = horizon(p);
  const dt = slotHours(p);
  let energy = 0;
  let peakKw = 0;
  for (let t = 0; t < T; t++) {
    const imp = s.importKw[t] ?? 0;
    energy += (p.prices.import[t]! * imp - p.prices.export[t]! * (s.exportKw[t] ?? 0)) * dt;
    peakKw = Math.max(peakKw, imp);
  }
  let shedding = 0;
  let wear = 0;
  for (const a of p.assets) {
    const as = s.assets[a.id];
    if (a.type === 'sheddable' && as?.type === 'sheddable')
      for (const y of as.shedKw) shedding += a.costPerKwh * y * dt;
    if (a.type === 'battery' && as?.type === 'battery')
      for (let t = 0; t < T; t++)
        wear += a.wearCostPerKwh * ((as.chargeKw[t] ?? 0) + (as.dischargeKw[t] ?? 0)) * dt;
  }
  const peak = p.peakChargePerKw * peakKw;
  return { energy, shedding, peak, wear, total: energy + shedding + peak + wear };
}

/** Every way the schedule breaks the model, as sentences naming asset and slot. */
export function checkSchedule(p: Problem, s: Schedule, tol = 1e-5): CheckResult {
  const T = horizon(p);
  const dt = slotHours(p);
  const out: string[] = [];
  const near = (a: number, b: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
  const within = (v: number, lo: number, hi: number, what: string) => {
    if (!(v >= lo - tol && v <= hi + tol)) out.push(`${what} = ${v} is outside [${lo}, ${hi}]`);
  };
  const lengthIs = (arr: readonly number[] | undefined, n: number, what: string) => {
    if (arr?.length !== n) {
      out.push(`${what} has ${arr?.length ?? 0} values, expected ${n}`);
      return false;
    }
    return true;
  };
  if (
    !lengthIs(s.importKw, T, 'import') ||
    !lengthIs(s.exportKw, T, 'export') ||
    !lengthIs(s.pvUsedKw, T, 'pvUsed')
  )
    return { violations: out };

  // Net consumption per slot of everything behind the meter, built asset by asset.
  const net = Array.from({ length: T }, (_, t) => p.baseLoadKw[t]! - s.pvUsedKw[t]!);
  for (let t = 0; t < T; t++) {
    within(s.importKw[t]!, 0, valueAt(p.grid.importLimitKw, t, Infinity), `import[${t}]`);
    within(s.exportKw[t]!, 0, valueAt(p.grid.exportLimitKw, t, Infinity), `export[${t}]`);
    within(s.pvUsedKw[t]!, 0, p.pvKw[t]!, `pvUsed[${t}]`);
  }

  for (const a of p.assets) {
    const as = s.assets[a.id];
    const name = `${a.type} ${a.id}`;
    if (as === undefined || (as.type !== a.type && !(a.type === 'ev' && as.type === 'ev'))) {
      out.push(`${name} has no schedule`);
      continue;
    }
    if (a.type === 'battery' && as.type === 'battery') {
      if (!lengthIs(as.chargeKw, T, `${name} charge`) || !lengthIs(as.socKwh, T + 1, `${name} soc`)) continue;
      if (!lengthIs(as.dischargeKw, T, `${name} discharge`)) continue;
      if (!near(as.socKwh[0]!, a.initialKwh))
        out.push(`${name} starts at ${as.socKwh[0]} kWh, not ${a.initialKwh}`);
      for (let t = 0; t < T; t++) {
        const c = as.chargeKw[t]!;
        const d = as.dischargeKw[t]!;
        within(c, 0, a.maxChargeKw, `${name} charge[${t}]`);
        within(d, 0, a.maxDischargeKw, `${name} discharge[${t}]`);
        const expected = as.socKwh[t]! + (a.chargeEfficiency * c - d / a.dischargeEfficiency) * dt;
        if (!near(as.socKwh[t + 1]!, expected))
          out.push(`${name} energy at slot ${t + 1} is ${as.socKwh[t + 1]}, physics gives ${expected}`);
        within(as.socKwh[t + 1]!, a.minSocKwh, a.capacityKwh, `${name} soc[${t + 1}]`);
        net[t]! += c - d;
      }
      if (a.finalMinKwh !== undefined && as.socKwh[T]! < a.finalMinKwh - tol)
        out.push(`${name} ends at ${as.socKwh[T]} kWh, below finalMinKwh ${a.finalMinKwh}`);
    } else if ((a.type === 'shiftable' || a.type === 'ev') && (as.type === 'shiftable' || as.type === 'ev')) {
      if (!lengthIs(as.powerKw, T, `${name} power`)) continue;
      const [start, end] = window(a, T);
      let energy = 0;
      for (let t = 0; t < T; t++) {
        const x = as.powerKw[t]!;
        if (t < start || t >= end) within(x, 0, 0, `${name} power[${t}] (outside its window)`);
        else within(x, 0, a.maxKw, `${name} power[${t}]`);
        energy += x * dt;
        net[t]! += x;
      }
      if (!near(energy, a.energyKwh)) out.push(`${name} gets ${energy} kWh, needs ${a.energyKwh}`);
    } else if (a.type === 'sheddable' && as.type === 'sheddable') {
      if (!lengthIs(as.shedKw, T, `${name} shed`) || !lengthIs(as.powerKw, T, `${name} power`)) continue;
      for (let t = 0; t < T; t++) {
        const base = valueAt(a.baselineKw, t);
        within(as.shedKw[t]!, 0, a.maxShedFraction * base, `${name} shed[${t}]`);
        if (!near(as.powerKw[t]!, base - as.shedKw[t]!))
          out.push(`${name} power[${t}] is not baseline − shed`);
        net[t]! += base - as.shedKw[t]!;
      }
    } else if (a.type === 'thermal' && as.type === 'thermal') {
      if (
        !lengthIs(as.powerKw, T, `${name} power`) ||
        !lengthIs(as.temperatureC, T + 1, `${name} temperature`)
      )
        continue;
      if (!near(as.temperatureC[0]!, a.initialC)) out.push(`${name} starts at ${as.temperatureC[0]} °C`);
      for (let t = 0; t < T; t++) {
        const q = as.powerKw[t]!;
        within(q, 0, a.maxKw, `${name} power[${t}]`);
        const th = as.temperatureC[t]!;
        const expected =
          th + (dt / a.capacitanceKwhPerK) * (a.cop * q - (th - valueAt(a.outdoorC, t)) / a.resistanceKPerKw);
        if (!near(as.temperatureC[t + 1]!, expected))
          out.push(
            `${name} temperature at slot ${t + 1} is ${as.temperatureC[t + 1]}, physics gives ${expected}`,
          );
        const band = Math.min(t + 1, T - 1);
        within(
          as.temperatureC[t + 1]!,
          valueAt(a.minC, band),
          valueAt(a.maxC, band),
          `${name} temperature[${t + 1}]`,
        );
        net[t]! += q;
      }
    }
  }

  if (p.resolution) checkBlocks(p, s, near, out);

  for (let t = 0; t < T; t++) {
    const grid = s.importKw[t]! - s.exportKw[t]!;
    if (!near(grid, net[t]!)) out.push(`balance at slot ${t}: grid ${grid} kW, site needs ${net[t]} kW`);
  }
  return { violations: out };
}

/**
 * Multi-resolution horizon (README): every asset decision is the same in all slots of a coarse
 * block (within the asset's own window).
 */
function checkBlocks(p: Problem, s: Schedule, near: (a: number, b: number) => boolean, out: string[]): void {
  const T = horizon(p);
  const blocks = decisionBlocks(p).filter(([b0, b1]) => b1 - b0 > 1);
  const held = (name: string, values: readonly number[], from = 0, to = T) => {
    for (const [b0, b1] of blocks) {
      const start = Math.max(b0, from);
      for (let t = start + 1; t < Math.min(b1, to); t++)
        if (!near(values[t]!, values[start]!)) {
          out.push(`${name} changes within the block of slots ${b0}–${b1 - 1} (slot ${t})`);
          break;
        }
    }
  };
  for (const a of p.assets) {
    const as = s.assets[a.id];
    const name = `${a.type} ${a.id}`;
    if (a.type === 'battery' && as?.type === 'battery') {
      held(`${name} charge`, as.chargeKw);
      held(`${name} discharge`, as.dischargeKw);
    } else if ((a.type === 'shiftable' || a.type === 'ev') && (as?.type === 'shiftable' || as?.type === 'ev'))
      held(`${name} power`, as.powerKw, ...window(a, T));
    else if (a.type === 'sheddable' && as?.type === 'sheddable') held(`${name} shed`, as.shedKw);
    else if (a.type === 'thermal' && as?.type === 'thermal') held(`${name} power`, as.powerKw);
  }
}
