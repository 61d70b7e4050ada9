/**
 * Comfort headroom of a 1R1C thermal zone (the optimiser's model: C kWh/K, R K/kW, heat pump
 * power q with COP), as the `upKwh`/`downKwh` series availability takes.
 *
 * Changing the heat pump's power by a constant ΔP for a time D moves the zone away from its
 * plan by cop·ΔP·R·(1 − e^{−D/RC}) in the continuous model and by cop·ΔP·R·(1 − (1 − Δt/RC)^n)
 * in the optimiser's explicit Euler steps; both are at most cop·ΔP·D/C, the bound used here
 * (it ignores the relief from heat exchanged with outdoors: for RC = 80 h and D = 1 h that is
 * 0.6 % of the figure). For an activation starting anywhere in slot i, the margin used is the
 * smallest the plan has anywhere in [slot start, slot end + D]: never more than the zone can
 * give, possibly a little less.
 */
export interface ThermalPlan {
  slotMs: number;
  /** Planned temperature at each slot boundary (slots + 1 values), °C. */
  temperatureC: number[];
  cop: number;
  capacitanceKwhPerK: number;
  resistanceKPerKw: number;
  /** Comfort band, °C (the same all day here). */
  minC: number;
  maxC: number;
}

export function thermalComfortKwh(
  plan: ThermalPlan,
  sustainMs: number,
): { upKwh: number[]; downKwh: number[] } {
  const slots = plan.temperatureC.length - 1;
  const hours = sustainMs / 3_600_000;
  // Kelvin of deviation per kW of change held for the whole sustain time.
  const kPerKw = (plan.cop * hours) / plan.capacitanceKwhPerK;
  const at = (tMs: number) => {
    const x = Math.min(tMs / plan.slotMs, slots);
    const k = Math.min(Math.floor(x), slots - 1);
    const a = plan.temperatureC[k]!;
    return a + (plan.temperatureC[k + 1]! - a) * (x - k);
  };
  const upKwh: number[] = [];
  const downKwh: number[] = [];
  for (let i = 0; i < slots; i++) {
    const from = i * plan.slotMs;
    const to = (i + 1) * plan.slotMs + sustainMs;
    const temps = [at(from), at(to)];
    for (let k = i + 1; k * plan.slotMs < to && k <= slots; k++) temps.push(plan.temperatureC[k]!);
    const coolest = Math.min(...temps);
    const warmest = Math.max(...temps);
    upKwh.push((Math.max(0, coolest - plan.minC) / kPerKw) * hours);
    downKwh.push((Math.max(0, plan.maxC - warmest) / kPerKw) * hours);
  }
  return { upKwh, downKwh };
}
