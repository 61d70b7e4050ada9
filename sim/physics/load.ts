import type { LocalTime } from './clock.js';

export const LOAD_PROFILES = ['school', 'sports_hall', 'office', 'apartment'] as const;
export type LoadProfile = (typeof LOAD_PROFILES)[number];

const between = (h: number, from: number, to: number) => (h >= from && h < to ? 1 : 0);
/** Smooth bump centred on `c` with half-width `w` hours. */
const bump = (h: number, c: number, w: number) => Math.exp(-(((h - c) / w) ** 2));

/** Finnish/Swiss school summer holiday, roughly June to mid-August. */
const summerHoliday = (doy: number) => doy >= 152 && doy < 227;

/**
 * Fraction (0…1) of the peak load a building of this kind draws at local time t, before noise.
 * Winter adds lighting and pumps; weekends and holidays fall to the base load.
 */
export function profileFraction(profile: LoadProfile, t: LocalTime): number {
  const weekend = t.weekday === 0 || t.weekday === 6;
  const h = t.hour;
  const season = 1 + 0.15 * Math.cos((2 * Math.PI * (t.dayOfYear - 15)) / 365.25);
  let f: number;
  switch (profile) {
    case 'school':
      f =
        weekend || summerHoliday(t.dayOfYear) ? 0.2 : 0.2 + 0.75 * between(h, 7, 16) - 0.1 * bump(h, 12, 0.7);
      break;
    case 'sports_hall':
      f = weekend ? 0.3 + 0.6 * between(h, 9, 20) : 0.25 + 0.3 * between(h, 8, 16) + 0.6 * between(h, 16, 22);
      break;
    case 'office':
      f = weekend ? 0.15 : 0.15 + 0.8 * between(h, 8, 18);
      break;
    case 'apartment':
      f = 0.12 + 0.35 * bump(h, 7.2, 1.2) + 0.7 * bump(h, 19, 2.2) + (weekend ? 0.2 * bump(h, 12, 2.5) : 0);
      break;
  }
  return Math.max(0, Math.min(1, (f * season) / 1.15));
}

/** Whether a public building is occupied (ventilation on schedule). */
export function occupied(profile: LoadProfile, t: LocalTime): boolean {
  return profileFraction(profile, t) > 0.45;
}

/** Power of a fan or pump at `pct` % speed: affinity law (cubic) or proportional. */
export function sheddablePowerW(ratedW: number, pct: number, law: 'cubic' | 'linear'): number {
  const x = Math.max(0, Math.min(100, pct)) / 100;
  return ratedW * (law === 'cubic' ? x ** 3 : x);
}
