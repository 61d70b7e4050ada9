import { z } from 'zod';
import type { WeatherForecast, WeatherHour } from './open-meteo.js';

/**
 * PV power from forecast irradiance on the array's plane (reference tariffs-weather.md §2.4).
 * Pure. Transposition: isotropic sky (Liu–Jordan, pvlib's `isotropic`, what Open-Meteo's GTI
 * uses): POA = B·Rb + D·(1 + cos β)/2 + G·ρ·(1 − cos β)/2, with B the direct and D the diffuse
 * horizontal irradiance, G = global, β the tilt, ρ the ground albedo and Rb the ratio of direct
 * irradiance on the plane to that on the horizontal, averaged over the hour (the values are
 * hour means). Power: PVWatts with a Ross cell temperature as evcc and Open-Meteo Solar
 * Forecast do: P = kWp·POA/1000·(1 + α·(T_cell − 25)), T_cell = T_air + k·POA, clamped to
 * [0, inverter]. Losses (wiring, soiling, inverter, shading) are left to the measured yield
 * factor.
 */

const RAD = Math.PI / 180;

export const PvArraySchema = z.object({
  kwp: z.number().positive(),
  /** 0 = horizontal, 90 = vertical. */
  tiltDeg: z.number().min(0).max(90),
  /** Compass bearing the modules face: 90 east, 180 south, 270 west (pvlib's; Open-Meteo's GTI uses 0 = south). */
  azimuthDeg: z.number().min(0).max(360),
  inverterKw: z.number().positive().optional(),
  albedo: z.number().min(0).max(1).default(0.2),
  /** Power temperature coefficient per K (crystalline silicon about −0.004). */
  tempCoeffPerK: z.number().max(0).default(-0.004),
  /** Ross coefficient K·m²/W: 0.0208 free-standing, 0.0342 not so well cooled, 0.0563 on a sloped roof. */
  rossKm2PerW: z.number().nonnegative().default(0.0342),
});
export type PvArray = z.output<typeof PvArraySchema>;
export type PvArrayInput = z.input<typeof PvArraySchema>;

/** The sun's direction as a unit vector (east, north, up) at an instant, NOAA low-precision formulas. */
export function sunVector(latDeg: number, lonDeg: number, tMs: number): [number, number, number] {
  const d = tMs / 86_400_000 - 10_957.5; // days since J2000.0
  const g = (357.529 + 0.98560028 * d) * RAD;
  const q = 280.459 + 0.98564736 * d;
  const lambda = (q + 1.915 * Math.sin(g) + 0.02 * Math.sin(2 * g)) * RAD;
  const eps = (23.439 - 0.00000036 * d) * RAD;
  const decl = Math.asin(Math.sin(eps) * Math.sin(lambda));
  const ra = Math.atan2(Math.cos(eps) * Math.sin(lambda), Math.cos(lambda));
  const gmstDeg = (18.697374558 + 24.06570982441908 * d) * 15;
  const h = (gmstDeg + lonDeg) * RAD - ra; // hour angle, positive in the afternoon
  const lat = latDeg * RAD;
  return [
    -Math.cos(decl) * Math.sin(h),
    Math.sin(decl) * Math.cos(lat) - Math.cos(decl) * Math.cos(h) * Math.sin(lat),
    Math.sin(decl) * Math.sin(lat) + Math.cos(decl) * Math.cos(h) * Math.cos(lat),
  ];
}

/** Samples per hour for the direct-beam ratio: the sun moves 15° an hour. */
const SAMPLES = 12;
/** Cap on Rb: at grazing sun the ratio of two small numbers is noise, not irradiance. */
const MAX_RB = 5;

/** Mean irradiance on the array's plane over a forecast hour (W/m²); null if the hour lacks data. */
export function planeIrradiance(
  hour: WeatherHour,
  array: Pick<PvArray, 'tiltDeg' | 'azimuthDeg' | 'albedo'>,
  lat: number,
  lon: number,
): number | null {
  const { ghi, directHorizontal: b, diffuse: d } = hour;
  if (ghi === null || b === null || d === null) return null;
  const beta = array.tiltDeg * RAD;
  const gamma = array.azimuthDeg * RAD;
  const n = [Math.sin(beta) * Math.sin(gamma), Math.sin(beta) * Math.cos(gamma), Math.cos(beta)];
  let onPlane = 0;
  let onHorizontal = 0;
  for (let k = 0; k < SAMPLES; k++) {
    const s = sunVector(lat, lon, hour.startMs + ((k + 0.5) / SAMPLES) * (hour.endMs - hour.startMs));
    if (s[2] <= 0) continue;
    onHorizontal += s[2];
    onPlane += Math.max(0, n[0]! * s[0] + n[1]! * s[1] + n[2]! * s[2]);
  }
  const rb = onHorizontal > 0 ? Math.min(MAX_RB, onPlane / onHorizontal) : 0;
  const poa = b * rb + (d * (1 + Math.cos(beta))) / 2 + (ghi * array.albedo * (1 - Math.cos(beta))) / 2;
  return Math.max(0, poa);
}

/** DC-rated power of the array at a plane irradiance and air temperature (kW), before losses. */
export function pvPowerKw(poa: number, airC: number, array: PvArray): number {
  const cellC = airC + array.rossKm2PerW * poa;
  const kw = (array.kwp * poa * (1 + array.tempCoeffPerK * (cellC - 25))) / 1000;
  return Math.min(array.inverterKw ?? Infinity, Math.max(0, kw));
}

export interface PvFromWeather {
  /** Mean kW per slot, before the measured-yield factor. */
  kw: number[];
  /** Slots the forecast does not cover (or has nulls for): they hold `fallbackKw` (or 0). */
  missing: number[];
}

/**
 * PV per slot from a weather forecast: each slot takes the forecast hour holding its middle
 * (hour means, so a quarter-hour slot gets its hour's mean) and the mean air temperature over
 * that hour. Slots without data take `fallbackKw` (e.g. clear sky × yield) and are listed.
 */
export function pvFromWeather(
  forecast: WeatherForecast,
  arrays: readonly PvArray[],
  o: { startMs: number; slots: number; slotMinutes: number; fallbackKw?: readonly number[] },
): PvFromWeather {
  const slotMs = o.slotMinutes * 60_000;
  const hours = forecast.hours;
  const kw: number[] = [];
  const missing: number[] = [];
  const perHour = new Map<number, number | null>();
  const hourKw = (i: number): number | null => {
    if (perHour.has(i)) return perHour.get(i)!;
    const h = hours[i]!;
    const t1 = h.temperatureC;
    const t0 = hours[i - 1]?.endMs === h.startMs ? hours[i - 1]!.temperatureC : null;
    const air = t1 === null ? t0 : t0 === null ? t1 : (t0 + t1) / 2;
    let total: number | null = air === null ? null : 0;
    for (const a of arrays) {
      const poa = planeIrradiance(h, a, forecast.latitude, forecast.longitude);
      if (poa === null || total === null || air === null) {
        total = null;
        break;
      }
      total += pvPowerKw(poa, air, a);
    }
    perHour.set(i, total);
    return total;
  };
  let i = 0;
  for (let t = 0; t < o.slots; t++) {
    const mid = o.startMs + (t + 0.5) * slotMs;
    while (i < hours.length && hours[i]!.endMs <= mid) i++;
    const v = i < hours.length && hours[i]!.startMs <= mid ? hourKw(i) : null;
    if (v === null) {
      missing.push(t);
      kw.push(o.fallbackKw?.[t] ?? 0);
    } else kw.push(v);
  }
  return { kw, missing };
}

/** Bounds of the measured-yield factor: a snowy week or a tripped inverter must not zero the forecast. */
export const WEATHER_YIELD_MIN = 0.3;
export const WEATHER_YIELD_MAX = 1.2;
/** Without enough history: an assumed system loss of 15 % (inverter, wiring, soiling), not measured. */
export const WEATHER_YIELD_DEFAULT = 0.85;

/**
 * Measured PV energy over what the weather model gave for the same past slots (with the
 * weather that actually came), bounded; the default when the model saw less than 1 kWh per kWp.
 */
export function weatherYieldFactor(measuredKwh: number, modelledKwh: number, kwp: number): number {
  if (modelledKwh < kwp) return WEATHER_YIELD_DEFAULT;
  return Math.min(WEATHER_YIELD_MAX, Math.max(WEATHER_YIELD_MIN, measuredKwh / modelledKwh));
}
