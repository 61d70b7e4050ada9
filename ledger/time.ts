/**
 * Time handling: everything is a UTC instant internally; the community's IANA time zone only
 * groups intervals into local days and months and places time-of-use windows. A local day has
 * 92, 96 or 100 quarter-hours.
 */
import { GridflexError, localMidnightUtc, localTime } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';

// The one local-time helper (model/local-time.ts): the ledger groups intervals with it.
export { type LocalTime, localMidnightUtc, localTime } from '../model/index.js';

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
