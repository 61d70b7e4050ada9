/** Local civil time of a site, for load schedules (pure: the instant is passed in). */
import { localTime as civilTime } from '../../model/index.js';

export interface LocalTime {
  /** Hour of day with fraction, 0 ≤ h < 24. */
  hour: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** 1 … 366. */
  dayOfYear: number;
}

const offsets = new Map<string, number>();

/** UTC offset of `tz` at the start of the hour containing `tMs` (zones change on whole hours). */
export function utcOffsetMs(tz: string, tMs: number): number {
  const hourStart = Math.floor(tMs / 3_600_000) * 3_600_000;
  const key = `${tz}@${hourStart}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const wall = civilTime(hourStart, tz);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const off = asUtc - hourStart;
  if (offsets.size > 10_000) offsets.clear();
  offsets.set(key, off);
  return off;
}

export function localTime(tMs: number, tz: string): LocalTime {
  const local = new Date(tMs + utcOffsetMs(tz, tMs));
  const startOfYear = Date.UTC(local.getUTCFullYear(), 0, 1);
  return {
    hour: local.getUTCHours() + local.getUTCMinutes() / 60 + local.getUTCSeconds() / 3600,
    weekday: local.getUTCDay(),
    dayOfYear: Math.floor((local.getTime() - startOfYear) / 86_400_000) + 1,
  };
}

/** Local calendar day number (days since 1970-01-01 in the site's zone). */
export function localDay(tMs: number, tz: string): number {
  return Math.floor((tMs + utcOffsetMs(tz, tMs)) / 86_400_000);
}
