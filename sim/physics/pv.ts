/** PV array and inverter. */
export interface PvParams {
  kwp: number;
  inverterKw: number;
  /** DC-to-AC system losses (soiling, wiring, temperature, inverter), 0…1. */
  performanceRatio: number;
}

/**
 * AC output in W (positive, generation) from horizontal irradiance W/m² and the active-power
 * limit in % of the inverter rating (100 = unlimited).
 */
export function pvAcPowerW(p: PvParams, ghi: number, limitPct: number): number {
  const available = (p.kwp * 1000 * ghi * p.performanceRatio) / 1000;
  const limit = (p.inverterKw * 1000 * Math.max(0, Math.min(100, limitPct))) / 100;
  return Math.max(0, Math.min(available, p.inverterKw * 1000, limit));
}
