/**
 * Time handling: everything is a UTC instant internally; the community's IANA time zone only
 * groups intervals into local days and months and places time-of-use windows. A local day has
 * 92, 96 or 100 quarter-hours.
 */
import { GridflexError } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';

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
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** "2026-10-25" */
  date: string;
}

export function localTime(ms: number, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(ms)) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  return {
    year,
    month,
    day,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday!),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  };
}

/** The UTC instant of local wall-clock midnight starting `year-month-day` in `tz`. */
export function localMidnightUtc(year: number, month: number, day: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let guess = wall;
  // Two corrections settle the offset, including across a DST change.
  for (let i = 0; i < 3; i++) {
    const lt = localTime(guess, tz);
    const seen = Date.UTC(lt.year, lt.month - 1, lt.day, lt.hour, lt.minute);
    const diff = seen - wall;
    if (diff === 0) break;
    guess -= diff;
  }
  return guess;
}

export interface Period {
  /** "2026-10" */
  label: string;
  startMs: number;
  endMs: number;
}

/** A billing month "YYYY-MM" in the community's time zone, as a half-open UTC range. */
export function monthPeriod(label: string, tz: string): Period {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(label);
  if (!m)
    throw new GridflexError(LEDGER_ERRORS.PERIOD, `period "${label}" is not a month like 2026-10`, {
      kind: 'input',
    });
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return {
    label,
    startMs: localMidnightUtc(y, mo, 1, tz),
    endMs: localMidnightUtc(mo === 12 ? y + 1 : y, mo === 12 ? 1 : mo + 1, 1, tz),
  };
}

/** "2026-10-25 02:15" local, for bills and exports. */
export function formatLocal(ms: number, tz: string): string {
  const lt = localTime(ms, tz);
  return `${lt.date} ${String(lt.hour).padStart(2, '0')}:${String(lt.minute).padStart(2, '0')}`;
}
