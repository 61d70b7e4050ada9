import { FREQUENCY_RESPONSE_DEVICE, type Reading } from '../../model/index.js';
import type { FrequencySample } from '../verify.js';

/** What the droop runtime saw and commanded at one frequency sample. */
export interface LogEntry {
  tMs: number;
  hz: number;
  /** The response commanded (Σ of the products' ramp-limited kW), + up. */
  responseKw: number;
  /** True while any product's curve asks for something. */
  active: boolean;
  /** Latest metered site power, kW, consumption positive; undefined before the first reading. */
  meteredKw?: number;
}

/**
 * Entries on an even grid of `stepMs` from `fromMs` to `toMs`, each holding the latest entry
 * at or before it (the TSO's 100 ms log; verify.ts takes samples as evenly spaced). Pure.
 */
export function resample(entries: LogEntry[], fromMs: number, toMs: number, stepMs: number): LogEntry[] {
  const out: LogEntry[] = [];
  let i = 0;
  let last: LogEntry | undefined;
  for (let t = fromMs; t <= toMs; t += stepMs) {
    while (i < entries.length && entries[i]!.tMs <= t) last = entries[i++];
    if (last) out.push({ ...last, tMs: t });
  }
  return out;
}

/** Spans where the response was active, each widened by `beforeMs` and `afterMs`. Pure. */
export function activationWindows(
  entries: LogEntry[],
  beforeMs: number,
  afterMs: number,
): { fromMs: number; toMs: number }[] {
  const windows: { fromMs: number; toMs: number }[] = [];
  let start: number | undefined;
  let lastActive = 0;
  for (const e of entries) {
    if (e.active) {
      start ??= e.tMs;
      lastActive = e.tMs;
    } else if (start !== undefined) {
      windows.push({ fromMs: start - beforeMs, toMs: lastActive + afterMs });
      start = undefined;
    }
  }
  if (start !== undefined) windows.push({ fromMs: start - beforeMs, toMs: lastActive + afterMs });
  // Overlapping windows (a second dip during the first one's tail) become one.
  return windows.reduce<{ fromMs: number; toMs: number }[]>((acc, w) => {
    const prev = acc.at(-1);
    if (prev && w.fromMs <= prev.toMs) prev.toMs = Math.max(prev.toMs, w.toMs);
    else acc.push({ ...w });
    return acc;
  }, []);
}

/**
 * The samples `checkFrequencyResponse` takes for one activation: the log from the activation's
 * start resampled at `stepMs`, with the meter-before baseline (mean metered power over
 * `baselineMs` before the start, markets.md B6.4). Samples without a metered value are left out.
 */
export function proofSamples(
  entries: LogEntry[],
  window: { fromMs: number; toMs: number },
  startMs: number,
  stepMs: number,
  baselineMs: number,
): FrequencySample[] {
  const before = resample(entries, startMs - baselineMs, startMs - stepMs, stepMs).filter(
    (e) => e.meteredKw !== undefined,
  );
  if (before.length === 0) return [];
  const baselineKw = before.reduce((a, e) => a + e.meteredKw!, 0) / before.length;
  return resample(entries, startMs, window.toMs, stepMs)
    .filter((e) => e.meteredKw !== undefined)
    .map((e) => ({ tMs: e.tMs, hz: e.hz, baselineKw, meteredKw: e.meteredKw! }));
}

/**
 * The proof of a site's frequency response, kept as readings of a virtual device: at every
 * frequency sample the frequency, the response commanded and the grid meter's power. Stored by
 * the store writer like any reading (spooled to disk while the store is away, so a crash or an
 * outage loses none), read back by the readings API, kept by the retention policy. The
 * in-memory log (15 min) stays what the delivery check reads while running.
 */
export const PROOF_DEVICE = FREQUENCY_RESPONSE_DEVICE;
export const proofPoints = (site: string) =>
  [
    { key: `${site}/${PROOF_DEVICE}/frequency`, kind: 'frequency', unit: 'Hz' },
    { key: `${site}/${PROOF_DEVICE}/requested`, kind: 'active_power', unit: 'W' },
    { key: `${site}/${PROOF_DEVICE}/metered`, kind: 'active_power', unit: 'W' },
  ] as const;

/** One log entry as readings (W, + up for the response, import positive for the meter). Pure. */
export function proofReadings(site: string, e: LogEntry): Reading[] {
  const [hz, requested, metered] = proofPoints(site);
  const out: Reading[] = [
    { pointId: hz.key, ts: e.tMs, value: e.hz, quality: 'good' },
    {
      pointId: requested.key,
      ts: e.tMs,
      value: Math.round(e.responseKw * 1000 * 1000) / 1000,
      quality: 'good',
    },
  ];
  if (e.meteredKw !== undefined)
    out.push({
      pointId: metered.key,
      ts: e.tMs,
      value: Math.round(e.meteredKw * 1000 * 1000) / 1000,
      quality: 'good',
    });
  return out;
}
