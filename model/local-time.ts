/**
 * The one local-time helper: a UTC instant seen in an IANA time zone (a site's, a
 * community's). Everything is a UTC instant internally; local time only groups intervals into
 * days and months and places time-of-day windows. Pure (the instant is passed in); one cached
 * Intl formatter per zone, since building one costs more than formatting.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface LocalTime {
  year: number;
  /** 1 … 12 */
  month: number;
  day: number;
  /** 0 … 23 */
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** "2026-10-25" */
  date: string;
}

export function localTime(ms: number, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(ms)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday!),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  };
}

/** Local hour (0–23) of an instant. */
export function localHour(ms: number, tz: string): number {
  return localTime(ms, tz).hour;
}

/** The UTC instant of local wall-clock midnight starting `year-month-day` in `tz` (DST-safe). */
export function localMidnightUtc(year: number, month: number, day: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let guess = wall;
  // Two corrections settle the offset, including across a DST change.
  for (let i = 0; i < 3; i++) {
    const lt = localTime(guess, tz);
    const diff = Date.UTC(lt.year, lt.month - 1, lt.day, lt.hour, lt.minute, lt.second) - wall;
    if (diff === 0) break;
    guess -= diff;
  }
  return guess;
}

/** The UTC instant of the local midnight that starts the day holding `ms`. */
export function localDayStart(ms: number, tz: string): number {
  const lt = localTime(ms, tz);
  return localMidnightUtc(lt.year, lt.month, lt.day, tz);
}
