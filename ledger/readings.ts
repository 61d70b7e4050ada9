import { createHash } from 'node:crypto';
import { GridflexError } from '../model/index.js';
import { parseScaled } from './decimal.js';
import { LEDGER_ERRORS } from './errors.js';

/**
 * 15-minute meter data: CSV import, per-period series, gap estimation and register deltas.
 *
 * CSV columns (header required, comma separated, any order of rows):
 *   meter    the meter id used in the community file
 *   start    the interval START as an ISO instant with offset or Z (2026-10-01T00:00:00+02:00),
 *            on a quarter-hour
 *   kwh      energy in the interval, decimal kWh with up to 6 decimals (1 mWh)
 *   quality  optional: `measured` (default) or `estimated` (a substitute value from the DSO)
 */
export const QUARTER_MS = 900_000;

export const Flag = {
  measured: 0,
  /** Substitute value supplied by the data source. */
  sourceEstimated: 1,
  /** Filled by us (see `fillGaps`). */
  estimated: 2,
  /** Negative value clamped to 0. */
  clamped: 3,
} as const;

export interface ReadingsBatch {
  /** meter → interval start (UTC ms) → [mWh, flag] */
  meters: Map<string, Map<number, [number, number]>>;
  rows: number;
  /** Identical repeated rows, ignored. */
  duplicates: number;
  clamped: number;
  /** SHA-256 of the file bytes: importing the same file twice is a no-op. */
  sha256: string;
}

function fail(line: number, message: string): never {
  throw new GridflexError(LEDGER_ERRORS.CSV, `readings line ${line}: ${message}`, { kind: 'input' });
}

export function parseReadingsCsv(text: string): ReadingsBatch {
  const sha256 = createHash('sha256').update(text).digest('hex');
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [iMeter, iStart, iKwh, iQuality] = [col('meter'), col('start'), col('kwh'), col('quality')];
  if (iMeter < 0 || iStart < 0 || iKwh < 0)
    fail(1, 'the header must name the columns meter,start,kwh[,quality]');
  const meters = new Map<string, Map<number, [number, number]>>();
  const counts: ReadingCounts = { rows: 0, duplicates: 0, clamped: 0 };
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    const meter = cells[iMeter] ?? '';
    if (meter === '') fail(n + 1, 'meter is empty');
    const startText = cells[iStart] ?? '';
    if (!/(Z|[+-]\d{2}:\d{2})$/.test(startText)) fail(n + 1, `start "${startText}" needs an offset or Z`);
    const start = Date.parse(startText);
    if (!Number.isFinite(start)) fail(n + 1, `start "${startText}" is not an instant`);
    if (start % QUARTER_MS !== 0) fail(n + 1, `start ${startText} is not on a quarter-hour`);
    let mWh: bigint;
    try {
      mWh = parseScaled(cells[iKwh] ?? '', 6, 'kwh');
    } catch (err) {
      fail(n + 1, (err as Error).message);
    }
    let flag: number = Flag.measured;
    const q = iQuality >= 0 ? (cells[iQuality] ?? '') : '';
    if (q === 'estimated') flag = Flag.sourceEstimated;
    else if (q !== '' && q !== 'measured') fail(n + 1, `quality "${q}" is not measured or estimated`);
    addReading(seriesOf(meters, meter), start, mWh, flag, counts, (prevMwh) =>
      fail(
        n + 1,
        `meter ${meter} at ${startText} was already given as ${prevMwh} mWh; the file contradicts itself`,
      ),
    );
  }
  return { meters, ...counts, sha256 };
}

/** What an import counted: values taken, identical repeats ignored, negatives clamped to 0. */
export interface ReadingCounts {
  rows: number;
  duplicates: number;
  clamped: number;
}

/** The series of `meter` in `meters`, created empty on first use. */
export function seriesOf(meters: ReadingsBatch['meters'], meter: string): Map<number, [number, number]> {
  let series = meters.get(meter);
  if (!series) {
    series = new Map();
    meters.set(meter, series);
  }
  return series;
}

/**
 * Add one imported value, by the same rule for every format: a negative value becomes 0 flagged
 * `clamped`; a value given again identically is a duplicate (false); given again differently,
 * `contradicts` throws with the earlier value. True when the value was added.
 */
export function addReading(
  series: Map<number, [number, number]>,
  startMs: number,
  mWh: bigint,
  flag: number,
  counts: ReadingCounts,
  contradicts: (prevMwh: number) => never,
): boolean {
  const value: [number, number] = mWh < 0n ? [0, Flag.clamped] : [Number(mWh), flag];
  if (mWh < 0n) counts.clamped++;
  const prev = series.get(startMs);
  if (prev) {
    if (prev[0] === value[0] && prev[1] === value[1]) {
      counts.duplicates++;
      return false;
    }
    contradicts(prev[0]);
  }
  series.set(startMs, value);
  counts.rows++;
  return true;
}

export interface Series {
  values: Float64Array;
  flags: Uint8Array;
}

/** Gaps up to this many intervals (2 h) are interpolated linearly. */
export const MAX_INTERPOLATED = 8;
const WEEK = (7 * 24 * 3_600_000) / QUARTER_MS;

/**
 * The meter's values over [startMs, endMs), gaps filled and flagged `estimated`:
 * 1. a gap of ≤ 8 intervals between two known values: linear interpolation, integer mWh
 *    (floor of the straight line, so a gap between equal neighbours takes their value);
 * 2. otherwise the same interval one week earlier, else one week later (a comparable day);
 * 3. otherwise the interval cannot be billed: GFX_LEDGER_DATA_GAP names the meter and interval.
 * A gap is never read as zero.
 */
export function seriesFor(batch: ReadingsBatch, meter: string, startMs: number, endMs: number): Series {
  const T = (endMs - startMs) / QUARTER_MS;
  const data = batch.meters.get(meter);
  const values = new Float64Array(T).fill(Number.NaN);
  const flags = new Uint8Array(T);
  if (data)
    for (let t = 0; t < T; t++) {
      const v = data.get(startMs + t * QUARTER_MS);
      if (v) {
        values[t] = v[0];
        flags[t] = v[1];
      }
    }
  const at = (t: number): number | undefined => {
    if (t >= 0 && t < T) return Number.isNaN(values[t]!) ? undefined : values[t];
    return data?.get(startMs + t * QUARTER_MS)?.[0];
  };
  for (let t = 0; t < T; t++) {
    if (!Number.isNaN(values[t]!)) continue;
    let end = t;
    while (end < T && Number.isNaN(values[end]!)) end++;
    const len = end - t;
    const before = at(t - 1);
    const after = at(end);
    for (let j = 0; j < len; j++) {
      let v: number | undefined;
      if (len <= MAX_INTERPOLATED && before !== undefined && after !== undefined)
        v = before + Math.floor(((after - before) * (j + 1)) / (len + 1));
      else
        v =
          data?.get(startMs + (t + j - WEEK) * QUARTER_MS)?.[0] ??
          data?.get(startMs + (t + j + WEEK) * QUARTER_MS)?.[0];
      if (v === undefined)
        throw new GridflexError(
          LEDGER_ERRORS.DATA_GAP,
          `meter ${meter} has no reading for ${new Date(startMs + (t + j) * QUARTER_MS).toISOString()} and none to estimate it from`,
          { kind: 'input', details: { meter, intervalStart: startMs + (t + j) * QUARTER_MS } },
        );
      values[t + j] = v;
      flags[t + j] = Flag.estimated;
    }
    t = end - 1;
  }
  return { values, flags };
}

export interface RegisterReading {
  ms: number;
  /** Register value (OBIS 1.8.0 or 2.8.0) in mWh. */
  mWh: number;
}

export interface RegisterDeltas {
  /** Interval start → energy in mWh; intervals around a reset are absent (gaps, to be estimated). */
  deltas: Map<number, number>;
  events: { ms: number; kind: 'rollover' | 'reset' }[];
}

/**
 * 15-minute energy from consecutive register readings taken at quarter-hour boundaries. A fall
 * is a rollover when the register wraps at `wrapMwh` (the delta is then exact), otherwise a
 * reset or meter exchange: no delta is derived across it.
 */
export function registerDeltas(readings: readonly RegisterReading[], wrapMwh?: number): RegisterDeltas {
  const sorted = [...readings].sort((a, b) => a.ms - b.ms);
  const deltas = new Map<number, number>();
  const events: RegisterDeltas['events'] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.ms - a.ms !== QUARTER_MS) continue;
    let d = b.mWh - a.mWh;
    if (d < 0) {
      // A wrap leaves the old value near the top and the new one near zero.
      if (wrapMwh !== undefined && a.mWh > wrapMwh * 0.9 && b.mWh < wrapMwh * 0.1) {
        d += wrapMwh;
        events.push({ ms: a.ms, kind: 'rollover' });
      } else {
        events.push({ ms: a.ms, kind: 'reset' });
        continue;
      }
    }
    deltas.set(a.ms, d);
  }
  return { deltas, events };
}
