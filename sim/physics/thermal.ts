/**
 * A thermal zone as one resistance and one capacitance (1R1C) to outdoors, heated by a heat
 * pump with a hysteresis thermostat. Integrated exactly over each step (no overshoot).
 */
export interface ZoneParams {
  /** Thermal capacitance, kWh per kelvin. */
  capacitanceKwhPerK: number;
  /** Thermal resistance to outdoors, kelvin per kW. */
  resistanceKPerKw: number;
  /** Heat pump electrical power at full output, W. */
  maxW: number;
  /** Coefficient of performance at 7 °C outdoors. */
  cop: number;
}

/** COP falls about 2.5 % per kelvin colder outside (air-source), never below 1. */
export function copAt(nominal: number, outdoorC: number): number {
  return Math.max(1, nominal * (1 + 0.025 * (outdoorC - 7)));
}

/** Indoor temperature after dtS seconds with constant heat input (kW thermal). */
export function zoneTempAfter(
  p: ZoneParams,
  indoorC: number,
  outdoorC: number,
  heatKw: number,
  dtS: number,
): number {
  const steady = outdoorC + p.resistanceKPerKw * heatKw;
  const tauH = p.resistanceKPerKw * p.capacitanceKwhPerK;
  return steady + (indoorC - steady) * Math.exp(-dtS / 3600 / tauH);
}

/**
 * Thermostat: on below setpoint − band/2, off above setpoint + band/2, else keep state.
 * `limitPct` caps the heat pump's electrical power (a demand-response setpoint).
 */
export function stepZone(
  p: ZoneParams,
  state: { indoorC: number; heating: boolean },
  ctl: { setpointC: number; bandC: number; enabled: boolean; limitPct: number },
  outdoorC: number,
  dtS: number,
): { indoorC: number; heating: boolean; powerW: number } {
  let heating = state.heating;
  if (state.indoorC < ctl.setpointC - ctl.bandC / 2) heating = true;
  else if (state.indoorC > ctl.setpointC + ctl.bandC / 2) heating = false;
  if (!ctl.enabled) heating = false;
  const powerW = heating ? (p.maxW * Math.max(0, Math.min(100, ctl.limitPct))) / 100 : 0;
  const heatKw = (powerW / 1000) * copAt(p.cop, outdoorC);
  return { indoorC: zoneTempAfter(p, state.indoorC, outdoorC, heatKw, dtS), heating, powerW };
}
