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
  /**
   * The response the reserve units' own meters show, kW, + up: Σ over the held fans of their
   * draw at base speed minus their metered draw. Only when every held asset is a fan with a
   * power point that has been read (a battery or heat pump has no such baseline here yet).
   */
  deliveredKw?: number;
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
    { key: `${site}/${PROOF_DEVICE}/delivered`, kind: 'active_power', unit: 'W' },
  ] as const;

/** One log entry as readings (W, + up for the response and delivery, import positive for the meter). Pure. */
export function proofReadings(site: string, e: LogEntry): Reading[] {
  const [hz, requested, metered, delivered] = proofPoints(site);
  const w = (kw: number) => Math.round(kw * 1000 * 1000) / 1000;
  const out: Reading[] = [
    { pointId: hz.key, ts: e.tMs, value: e.hz, quality: 'good' },
    {
      pointId: requested.key,
      ts: e.tMs,
      value: w(e.responseKw),
      quality: 'good',
    },
  ];
  if (e.meteredKw !== undefined)
    out.push({ pointId: metered.key, ts: e.tMs, value: w(e.meteredKw), quality: 'good' });
  if (e.deliveredKw !== undefined)
    out.push({ pointId: delivered.key, ts: e.tMs, value: w(e.deliveredKw), quality: 'good' });
  return out;
}

/** A proof series as stored: instants and values (kW), sorted by time. */
export interface ProofSeries {
  ts: number[];
  kw: number[];
}

/**
 * One FCR/FFR hour of a site, settled from its stored proof: the capacity it held, how much of
 * the hour the proof covers, the energy the droop asked for and what the reserve units' own
 * meters delivered in the direction asked, integer Wh rounded once (half up).
 */
export interface FrequencySettlementRow {
  obligationId: string;
  productId: string;
  siteId: string;
  /** ISO 8601, UTC. */
  start: string;
  end: string;
  heldKw: number;
  /** Seconds of the hour with a proof sample no older than `maxGapMs`. */
  coveredS: number;
  requestedWh: number;
  /** Σ delivered·sign(requested)·dt: a delivery against the request counts negative. */
  deliveredWh: number;
  /** deliveredWh / requestedWh to 4 decimals; null when nothing was delivered-metered or requested. */
  performanceRatio: number | null;
  /** Seconds in which the request had a delivery reading beside it. */
  deliveryMeteredS: number;
}

/**
 * Settle one obligation hour of a site from its proof series (`requested`, `delivered`, kW, + up),
 * integrating each as a step function (a value holds until the next) on a 1 s grid; a sample
 * older than `maxGapMs` counts as missing (the proof has a hole there). Pure.
 */
export function frequencySettlementRow(
  o: {
    obligationId: string;
    productId: string;
    siteId: string;
    startMs: number;
    endMs: number;
    heldKw: number;
  },
  requested: ProofSeries,
  delivered: ProofSeries,
  maxGapMs = 5_000,
): FrequencySettlementRow {
  const at = (s: ProofSeries) => {
    let i = -1;
    return (t: number): number | undefined => {
      while (i + 1 < s.ts.length && s.ts[i + 1]! <= t) i++;
      return i >= 0 && t - s.ts[i]! <= maxGapMs ? s.kw[i] : undefined;
    };
  };
  const req = at(requested);
  const del = at(delivered);
  let coveredS = 0;
  let meteredS = 0;
  let requestedKws = 0;
  let requestedMeteredKws = 0;
  let deliveredKws = 0;
  for (let t = o.startMs; t < o.endMs; t += 1000) {
    const q = req(t);
    if (q === undefined) continue;
    coveredS++;
    requestedKws += Math.abs(q);
    const d = del(t);
    if (d === undefined) continue;
    meteredS++;
    requestedMeteredKws += Math.abs(q);
    deliveredKws += d * Math.sign(q);
  }
  const wh = (kws: number) => Math.round((kws * 1000) / 3600);
  const deliveredWh = wh(deliveredKws);
  const requestedMeteredWh = wh(requestedMeteredKws);
  return {
    obligationId: o.obligationId,
    productId: o.productId,
    siteId: o.siteId,
    start: new Date(o.startMs).toISOString(),
    end: new Date(o.endMs).toISOString(),
    heldKw: o.heldKw,
    coveredS,
    requestedWh: wh(requestedKws),
    deliveredWh,
    performanceRatio:
      meteredS === 0 || requestedMeteredWh === 0
        ? null
        : Math.round((deliveredWh / requestedMeteredWh) * 10_000) / 10_000,
    deliveryMeteredS: meteredS,
  };
}
