/**
 * Forecasts for the re-plan loop, pure (time is passed in): PV from clear-sky irradiance
 * scaled by the measured yield, base load from the same weekday and time in recent weeks with a
 * documented fallback profile, and the error of a forecast against what was measured.
 */
import { localHour } from '../model/index.js';
import { sunVector } from './forecast/solar.js';

const RAD = Math.PI / 180;

/**
 * Solar elevation (degrees above the horizon) from the low-precision formulas of the U.S.
 * Naval Observatory / NOAA ("Approximate solar coordinates", about 0.01° in declination for
 * 1950–2050; accuracy here about ±0.5° with the local hour angle).
 */
export function sunElevationDeg(latDeg: number, lonDeg: number, tMs: number): number {
  const up = sunVector(latDeg, lonDeg, tMs)[2];
  return Math.asin(Math.max(-1, Math.min(1, up))) / RAD;
}

/**
 * Global horizontal irradiance under a clear sky, W/m²: the Haurwitz model,
 * GHI = 1098 · cos Z · exp(−0.057 / cos Z) (Haurwitz 1945; ranked among the best simple models
 * by Reno, Hansen & Stein, "Global Horizontal Irradiance Clear Sky Models", Sandia
 * SAND2012-2389). It needs only the zenith angle Z, no turbidity data.
 */
export function clearSkyGhi(elevationDeg: number): number {
  if (elevationDeg <= 0) return 0;
  const cosZ = Math.sin(elevationDeg * RAD);
  return 1098 * cosZ * Math.exp(-0.057 / cosZ);
}

export interface Location {
  lat: number;
  lon: number;
}

/** Samples per slot for the slot average: irradiance is far from linear near sunrise and sunset. */
const SAMPLES = 6;

/**
 * Clear-sky AC power of a horizontal array, averaged over each slot: kWp × GHI / 1000 W/m²
 * (kWp is rated at 1000 W/m²), capped at the inverter. Losses, tilt and clouds are left to
 * the yield factor, which is measured.
 */
export function clearSkyPvKw(
  loc: Location,
  kwp: number,
  startMs: number,
  slots: number,
  slotMinutes: number,
  inverterKw = Infinity,
): number[] {
  const slotMs = slotMinutes * 60_000;
  return Array.from({ length: slots }, (_, t) => {
    let sum = 0;
    for (let k = 0; k < SAMPLES; k++) {
      const at = startMs + t * slotMs + ((k + 0.5) / SAMPLES) * slotMs;
      sum += clearSkyGhi(sunElevationDeg(loc.lat, loc.lon, at));
    }
    return Math.min(inverterKw, (kwp * sum) / SAMPLES / 1000);
  });
}

/** Bounds of the yield factor: a few odd days (snow, a tripped inverter) must not zero the forecast. */
export const YIELD_MIN = 0.1;
export const YIELD_MAX = 1.1;
/**
 * Without usable history: an assumed share of clear-sky yield (not measured; a horizontal
 * array's performance ratio of about 0.8 times some cloud). Replaced as soon as a day is measured.
 */
export const YIELD_DEFAULT = 0.6;
/** Less clear-sky energy than this in the history window (kWh per kWp) is too little to judge. */
const MIN_CLEAR_SKY_KWH_PER_KWP = 1;

/** Measured PV energy over clear-sky energy of the same slots, bounded; the default without enough data. */
export function yieldFactor(measuredKwh: number, clearSkyKwh: number, kwp: number): number {
  if (clearSkyKwh < MIN_CLEAR_SKY_KWH_PER_KWP * kwp) return YIELD_DEFAULT;
  return Math.min(YIELD_MAX, Math.max(YIELD_MIN, measuredKwh / clearSkyKwh));
}

/** PV forecast: clear-sky power × the measured yield factor. */
export function pvForecastKw(clearSkyKw: readonly number[], factor: number): number[] {
  return clearSkyKw.map((kw) => kw * factor);
}

/**
 * Fallback base-load shape by local hour (multipliers of the mean): low at night, a morning
 * and a larger evening peak, as in residential load profiles. An assumed shape, not measured;
 * only used for slots without history. Mean of the 24 values is 1.
 */
export const FALLBACK_SHAPE: readonly number[] = (() => {
  const raw = [
    0.6, 0.55, 0.5, 0.5, 0.5, 0.6, 0.9, 1.2, 1.1, 0.9, 0.9, 1.0, 1.1, 1.0, 0.9, 0.9, 1.0, 1.3, 1.6, 1.7, 1.5,
    1.2, 0.9, 0.7,
  ];
  const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
  return raw.map((x) => x / mean);
})();

/** Local hour (0–23): the one local-time helper of model/. */
export { localHour };

/** The fallback profile over a horizon: `meanKw` × the shape of each slot's local hour. */
export function fallbackLoadKw(
  startMs: number,
  slots: number,
  slotMinutes: number,
  timezone: string,
  meanKw: number,
): number[] {
  return Array.from(
    { length: slots },
    (_, t) => meanKw * FALLBACK_SHAPE[localHour(startMs + t * slotMinutes * 60_000, timezone)]!,
  );
}

export interface BaseLoadForecast {
  kw: number[];
  /** Per slot, how many past weeks had a value (0 = the fallback was used). */
  weeks: number[];
}

/**
 * Base load per slot: the mean over past weeks of the same weekday and time (`history[k][t]`:
 * the value k+1 weeks before slot t, null where nothing was measured), else the fallback.
 * Never negative (the LP's base load is consumption).
 */
export function baseLoadForecast(
  history: readonly (readonly (number | null)[])[],
  fallbackKw: readonly number[],
): BaseLoadForecast {
  const kw: number[] = [];
  const weeks: number[] = [];
  for (let t = 0; t < fallbackKw.length; t++) {
    const values = history.map((week) => week[t]).filter((v): v is number => v !== null && v !== undefined);
    weeks.push(values.length);
    kw.push(Math.max(0, values.length ? values.reduce((a, b) => a + b, 0) / values.length : fallbackKw[t]!));
  }
  return { kw, weeks };
}

export interface ForecastError {
  /** Mean absolute error, kW. */
  maeKw: number | null;
  /** Mean of forecast − actual, kW (positive: the forecast was too high). */
  biasKw: number | null;
  /** Slots compared (those with an actual value). */
  n: number;
}

/** Error of a forecast against actuals; slots without an actual are skipped. */
export function forecastError(
  forecast: readonly number[],
  actual: readonly (number | null)[],
): ForecastError {
  let abs = 0;
  let sum = 0;
  let n = 0;
  forecast.forEach((f, t) => {
    const a = actual[t];
    if (a === null || a === undefined) return;
    abs += Math.abs(f - a);
    sum += f - a;
    n++;
  });
  return n === 0 ? { maeKw: null, biasKw: null, n } : { maeKw: abs / n, biasKw: sum / n, n };
}
