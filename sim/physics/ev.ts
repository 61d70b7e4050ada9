import { uniform } from './random.js';

export interface EvSession {
  arriveMs: number;
  departMs: number;
  needWh: number;
}

/**
 * The charging session that starts on local day `day` at a charger (home charging: arrival in
 * the evening, departure next morning; no car on some days). Pure in (seed, charger, day).
 */
export function sessionOfDay(
  seed: number,
  chargerKey: number,
  day: number,
  tzOffsetMs: number,
): EvSession | null {
  if (uniform(seed, chargerKey, day, 0) < 0.15) return null;
  const midnight = day * 86_400_000 - tzOffsetMs;
  const arriveH = 16 + 5 * uniform(seed, chargerKey, day, 1);
  const departH = 24 + 6 + 3 * uniform(seed, chargerKey, day, 2);
  const needWh = 4000 + 26_000 * uniform(seed, chargerKey, day, 3);
  return { arriveMs: midnight + arriveH * 3_600_000, departMs: midnight + departH * 3_600_000, needWh };
}

/** Charging power for one step: the setpoint within limits and the energy still needed. */
export function evPowerW(
  connected: boolean,
  remainingWh: number,
  setpointW: number,
  limits: { minW: number; maxW: number },
  dtS: number,
): number {
  if (!connected || remainingWh <= 0 || setpointW <= 0) return 0;
  const p = Math.min(Math.max(setpointW, limits.minW), limits.maxW);
  return Math.min(p, (remainingWh * 3600) / dtS);
}
