import {
  decisionBlocks,
  horizon,
  longestShedSlots,
  type Problem,
  peakPeriods,
  slotHours,
  valueAt,
  window,
} from './problem.js';
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
  /** − terminalPricePerKwh × the electricity stored energy gained over the horizon (README "Terminal value"). */
  terminal: number;
  total: number;
}

/** The model's objective evaluated on a schedule. */
export function scheduleCost(p: Problem, s: Schedule): CostBreakdown {
  const T = horizon(p);
  const dt = slotHours(p);
  let energy = 0;
  for (let t = 0; t < T; t++)
    energy += (p.prices.import[t]! * (s.importKw[t] ?? 0) - p.prices.export[t]! * (s.exportKw[t] ?? 0)) * dt;
  // Each period's peak is its highest import, never below the peak already incurred.
  let peak = 0;
  for (const m of peakPeriods(p)) {
    let peakKw = m.soFarKw;
    for (let t = m.fromSlot; t < m.toSlot; t++) peakKw = Math.max(peakKw, s.importKw[t] ?? 0);
    peak += m.chargePerKw * peakKw;
  }
  let shedding = 0;
  let wear = 0;
  let terminal = 0;
  for (const a of p.assets) {
    const as = s.assets[a.id];
    if (a.type === 'battery' && as?.type === 'battery')
      terminal -= p.terminalPricePerKwh * a.dischargeEfficiency * (as.socKwh[T]! - a.initialKwh);
    if (a.type === 'thermal' && as?.type === 'thermal')
      terminal -=
        ((p.terminalPricePerKwh * a.capacitanceKwhPerK) / a.cop) * (as.temperatureC[T]! - a.initialC);
    if (a.type === 'sheddable' && as?.type === 'sheddable')
      for (const y of as.shedKw) shedding += a.costPerKwh * y * dt;
    if (a.type === 'battery' && as?.type === 'battery')
      for (let t = 0; t < T; t++)
        wear += a.wearCostPerKwh * ((as.chargeKw[t] ?? 0) + (as.dischargeKw[t] ?? 0)) * dt;
  }
  return { energy, shedding, peak, wear, terminal, total: energy + shedding + peak + wear + terminal };
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
      const L = longestShedSlots(a, p);
      for (let t0 = 0; t0 + L < T; t0++) {
        let shed = 0;
        let least = Infinity;
        for (let t = t0; t <= t0 + L; t++) {
          shed += as.shedKw[t]!;
          least = Math.min(least, valueAt(a.baselineKw, t));
        }
        if (shed > L * a.maxShedFraction * least + tol * Math.max(1, shed))
          out.push(`${name} sheds longer than ${a.maxShedMinutes} min in slots ${t0}–${t0 + L}`);
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
  if (p.reservations?.length) checkReserves(p, s, tol, out);

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

/**
 * Market reservations (README "Market reservations"), checked by simulating the activation
 * rather than by the LP's rows: every reservation is covered by its assets in every slot, and
 * for activations starting on a grid of moments across the slot (twelve per slot, plus both
 * ends), all reservations held in that slot activated together and held for their sustain
 * times keep each asset within its power limits, a battery within [minSocKwh, capacityKwh]
 * (one kW for one hour moves at most 1/ηd kWh either way), a heat pump's zone within its
 * comfort band (the exact 1R1C deviation cop·ΔP·R·(1 − e^{−τ/RC}) on top of the planned,
 * linearly interpolated temperature), and the grid connection within its limits. Like the LP,
 * an activation is followed up to the end of the horizon only.
 */
function checkReserves(p: Problem, s: Schedule, tol: number, out: string[]): void {
  const T = horizon(p);
  const dt = slotHours(p);
  const reservations = p.reservations ?? [];
  if (!s.reserves) {
    out.push('the problem has reservations but the schedule holds none');
    return;
  }
  const end = T * dt;
  const interpolate = (series: readonly number[], tau: number) => {
    const x = Math.min(tau / dt, T);
    const k = Math.min(Math.floor(x), T - 1);
    return series[k]! + (series[k + 1]! - series[k]!) * (x - k);
  };
  /** Slots an activation from anywhere in slot t reaches when held for h hours. */
  const slotsReached = (t: number, h: number) => {
    const last = Math.min(T - 1, Math.ceil((t + 1 + h / dt) * (1 - 1e-12)) - 1);
    return Array.from({ length: last - t + 1 }, (_, k) => t + k);
  };
  for (const dir of ['up', 'down'] as const) {
    const need = (r: (typeof reservations)[number], t: number) =>
      valueAt(dir === 'up' ? r.upKw : r.downKw, t);
    for (const r of reservations) {
      const held = s.reserves[r.id]?.[dir === 'up' ? 'upKw' : 'downKw'] ?? {};
      for (let t = 0; t < T; t++) {
        let sum = 0;
        for (const series of Object.values(held)) {
          const v = series[t] ?? 0;
          if (v < -tol) out.push(`reservation ${r.id} ${dir} holds ${v} kW at slot ${t}`);
          sum += v;
        }
        if (sum < need(r, t) - tol)
          out.push(`reservation ${r.id} ${dir} holds ${sum} kW at slot ${t}, needs ${need(r, t)}`);
      }
    }
    // The grid connection takes the whole activation on top of the plan.
    const limit = dir === 'up' ? p.grid.exportLimitKw : p.grid.importLimitKw;
    for (let t = 0; t < T; t++)
      for (const r of reservations) {
        if (need(r, t) <= 0) continue;
        for (const x of slotsReached(t, r.sustainMinutes / 60)) {
          const others = reservations
            .filter((o) => o !== r && slotsReached(t, o.sustainMinutes / 60).includes(x))
            .reduce((sum, o) => sum + need(o, t), 0);
          const flow = dir === 'up' ? s.exportKw[x]! - s.importKw[x]! : s.importKw[x]! - s.exportKw[x]!;
          const lim = valueAt(limit, x, Infinity);
          if (flow + need(r, t) + others > lim + tol)
            out.push(
              `grid ${dir === 'up' ? 'export' : 'import'} limit at slot ${x} cannot take the ${dir} reserve of slot ${t}`,
            );
        }
      }
  }

  for (const a of p.assets) {
    const as = s.assets[a.id];
    if (!as) continue;
    for (const dir of ['up', 'down'] as const) {
      const heldAt = (t: number) =>
        reservations
          .map((r) => ({
            kw: s.reserves?.[r.id]?.[dir === 'up' ? 'upKw' : 'downKw'][a.id]?.[t] ?? 0,
            h: r.sustainMinutes / 60,
          }))
          .filter((x) => x.kw > tol);
      for (let t = 0; t < T; t++) {
        const held = heldAt(t);
        if (held.length === 0) continue;
        const name = `${a.type} ${a.id} ${dir} reserve of slot ${t}`;
        // Power: the plan plus every reserve whose window covers the slot.
        for (let x = t; x < T; x++) {
          const kw = held.filter((h) => slotsReached(t, h.h).includes(x)).reduce((sum, h) => sum + h.kw, 0);
          if (kw === 0) break;
          let room = 0;
          if (as.type === 'battery' && a.type === 'battery') {
            const net = as.dischargeKw[x]! - as.chargeKw[x]!;
            room = dir === 'up' ? a.maxDischargeKw - net : a.maxChargeKw + net;
          } else if (as.type === 'thermal' && a.type === 'thermal')
            room = dir === 'up' ? as.powerKw[x]! : a.maxKw - as.powerKw[x]!;
          else if (as.type === 'sheddable' && a.type === 'sheddable' && dir === 'up')
            room = a.maxShedFraction * valueAt(a.baselineKw, x) - as.shedKw[x]!;
          if (kw > room + tol) out.push(`${name}: ${kw} kW but only ${room} kW free at slot ${x}`);
        }
        // State: activations starting across the slot.
        if (as.type !== 'battery' && as.type !== 'thermal') continue;
        for (let k = 0; k <= 12; k++) {
          const start = (t + k / 12) * dt;
          const maxH = Math.max(...held.map((h) => h.h));
          const taus = new Set<number>();
          for (let j = 1; j <= 24; j++) taus.add(start + (maxH * j) / 24);
          for (const h of held) taus.add(start + h.h);
          for (let b = t + 1; b * dt < start + maxH; b++) taus.add(b * dt);
          for (const tau of taus) {
            if (tau > end + 1e-9) continue;
            if (as.type === 'battery' && a.type === 'battery') {
              const moved = held.reduce(
                (sum, h) => sum + (Math.min(tau - start, h.h) * h.kw) / a.dischargeEfficiency,
                0,
              );
              const e = interpolate(as.socKwh, tau) + (dir === 'up' ? -moved : moved);
              if (dir === 'up' ? e < a.minSocKwh - tol : e > a.capacityKwh + tol)
                out.push(
                  `${name}: an activation from ${start.toFixed(3)} h leaves ${e.toFixed(4)} kWh at ${tau.toFixed(3)} h`,
                );
            } else if (as.type === 'thermal' && a.type === 'thermal') {
              const rc = a.resistanceKPerKw * a.capacitanceKwhPerK;
              const dev = held.reduce(
                (sum, h) =>
                  sum + a.cop * h.kw * a.resistanceKPerKw * (1 - Math.exp(-Math.min(tau - start, h.h) / rc)),
                0,
              );
              const theta = interpolate(as.temperatureC, tau) + (dir === 'up' ? -dev : dev);
              const k0 = Math.min(Math.floor(tau / dt + 1e-9), T - 1);
              const k1 = Math.min(Math.ceil(tau / dt - 1e-9), T - 1);
              const lo = Math.max(valueAt(a.minC, k0), valueAt(a.minC, k1));
              const hi = Math.min(valueAt(a.maxC, k0), valueAt(a.maxC, k1));
              if (dir === 'up' ? theta < lo - tol : theta > hi + tol)
                out.push(
                  `${name}: an activation from ${start.toFixed(3)} h brings the zone to ${theta.toFixed(4)} °C at ${tau.toFixed(3)} h`,
                );
            }
          }
        }
      }
    }
  }
}
