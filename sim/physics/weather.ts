import { smoothNoise } from './random.js';

/** Climate of a site: a yearly and a daily temperature wave plus weather noise. */
export interface Climate {
  annualMeanC: number;
  /** Half the difference between the warmest and coldest month. */
  annualAmplitudeC: number;
  /** Half the day–night difference. */
  dailyAmplitudeC: number;
  /** Mean cloud cover 0…1. */
  meanCloud: number;
}

const KEY_TEMP = 101;
const KEY_CLOUD = 102;

/** Outdoor temperature, °C. Coldest around 20 January, warmest mid-afternoon solar time. */
export function outdoorTempC(climate: Climate, seed: number, lonDeg: number, tMs: number): number {
  const day = tMs / 86_400_000;
  const yearly = -Math.cos((2 * Math.PI * (day - 20 - 3.0)) / 365.25); // t=0 is 1 Jan 1970
  const solarHour = (((tMs / 3_600_000 + lonDeg / 15) % 24) + 24) % 24;
  const daily = Math.cos((2 * Math.PI * (solarHour - 15)) / 24);
  const weather = 2.5 * smoothNoise(seed, KEY_TEMP, tMs, 6 * 3_600_000);
  return climate.annualMeanC + climate.annualAmplitudeC * yearly + climate.dailyAmplitudeC * daily + weather;
}

/** Cloud cover 0…1: slow weather (hours) plus passing clouds (minutes). */
export function cloudCover(climate: Climate, seed: number, tMs: number): number {
  const slow = smoothNoise(seed, KEY_CLOUD, tMs, 3 * 3_600_000);
  const fast = smoothNoise(seed, KEY_CLOUD + 1, tMs, 5 * 60_000);
  const logit = Math.log(climate.meanCloud / (1 - climate.meanCloud)) + 1.6 * slow + 0.8 * fast;
  return 1 / (1 + Math.exp(-logit));
}

/** Irradiance reaching the ground under cloud cover c (Kasten–Czeplak). */
export function cloudyGhi(clearSky: number, cloud: number): number {
  return clearSky * (1 - 0.75 * cloud ** 3.4);
}
