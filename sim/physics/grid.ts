import { gaussian, hash32, smoothNoise, uniform } from './random.js';

export interface GridParams {
  nominalHz: number;
  /** Standard deviation of normal frequency wander, Hz. */
  noiseHz: number;
  /** Mean number of under-frequency events per day (e.g. a drop to 49.6 Hz after a trip). */
  eventsPerDay: number;
  eventNadirHz: number;
  /** Day-ahead price level and spread, €/MWh. */
  priceBaseEurMwh: number;
  priceSpreadEurMwh: number;
  /** Probability that a given quarter-hour carries an mFRR-like activation request. */
  activationProbability: number;
  activationKw: number;
}

const HOUR = 3_600_000;
const KEY_F = 201;
const KEY_EVENT = 202;
const KEY_PRICE = 203;
const KEY_ACT = 204;

/** The event of hour `h`, if any: start time, depth and recovery. */
function eventOfHour(seed: number, g: GridParams, h: number) {
  if (uniform(seed, KEY_EVENT, h) >= g.eventsPerDay / 24) return null;
  const startMs = h * HOUR + Math.floor(uniform(seed, KEY_EVENT, h, 1) * (HOUR - 120_000));
  return { startMs, holdMs: 10_000 + 20_000 * uniform(seed, KEY_EVENT, h, 2), recoveryMs: 60_000 };
}

/**
 * Grid frequency, Hz: nominal plus slow wander plus under-frequency events (a fall to the
 * nadir within 5 s, a hold, then an exponential recovery).
 */
export function frequencyHz(seed: number, g: GridParams, tMs: number, extra: FrequencyEvent[] = []): number {
  let f =
    g.nominalHz +
    g.noiseHz *
      (0.8 * smoothNoise(seed, KEY_F, tMs, 60_000) + 0.6 * smoothNoise(seed, KEY_F + 1, tMs, 5_000));
  const h = Math.floor(tMs / HOUR);
  const events: FrequencyEvent[] = [...extra];
  for (const hh of [h - 1, h]) {
    const e = eventOfHour(seed, g, hh);
    if (e) events.push({ ...e, nadirHz: g.eventNadirHz });
  }
  for (const e of events) f -= eventDeviation(e, g.nominalHz, tMs);
  return f;
}

export interface FrequencyEvent {
  startMs: number;
  holdMs: number;
  recoveryMs: number;
  nadirHz: number;
}

function eventDeviation(e: FrequencyEvent, nominalHz: number, tMs: number): number {
  const dt = tMs - e.startMs;
  if (dt < 0) return 0;
  const depth = nominalHz - e.nadirHz;
  if (dt < 5000) return (depth * dt) / 5000;
  if (dt < 5000 + e.holdMs) return depth;
  const r = dt - 5000 - e.holdMs;
  return r > 5 * e.recoveryMs ? 0 : depth * Math.exp((-3 * r) / e.recoveryMs);
}

/**
 * Day-ahead price of the hour containing `tMs`, €/MWh: morning and evening peaks, a solar dip
 * at noon, and a random level per day. Constant within each hour, as the auction clears.
 */
export function dayAheadPrice(seed: number, g: GridParams, tMs: number, tzOffsetMs: number): number {
  const localH = Math.floor((tMs + tzOffsetMs) / HOUR);
  const hod = ((localH % 24) + 24) % 24;
  const day = Math.floor(localH / 24);
  const shape =
    0.6 * Math.exp(-(((hod - 8) / 1.5) ** 2)) +
    1.0 * Math.exp(-(((hod - 19) / 2) ** 2)) -
    0.5 * Math.exp(-(((hod - 13) / 2) ** 2)) -
    0.4 * Math.exp(-(((hod - 3) / 2.5) ** 2));
  const dayLevel = 0.3 * gaussian(seed, KEY_PRICE, day);
  const hourNoise = 0.1 * gaussian(seed, KEY_PRICE, localH, 7);
  return Math.round((g.priceBaseEurMwh + g.priceSpreadEurMwh * (shape + dayLevel + hourNoise)) * 100) / 100;
}

export interface ActivationRequest {
  id: string;
  product: 'mFRR';
  direction: 'up' | 'down';
  /** Requested change, kW (up = less consumption / more generation). */
  kw: number;
  startMs: number;
  endMs: number;
}

/** Activation requests whose delivery period starts in [fromMs, toMs), one per quarter-hour at most. */
export function activationRequests(
  seed: number,
  g: GridParams,
  fromMs: number,
  toMs: number,
): ActivationRequest[] {
  const q = 900_000;
  const out: ActivationRequest[] = [];
  for (let i = Math.ceil(fromMs / q); i * q < toMs; i++) {
    if (uniform(seed, KEY_ACT, i) >= g.activationProbability) continue;
    const direction = uniform(seed, KEY_ACT, i, 1) < 0.7 ? 'up' : 'down';
    const kw = Math.round(g.activationKw * (0.5 + 0.5 * uniform(seed, KEY_ACT, i, 2)));
    out.push({
      id: `act-${hash32(seed, KEY_ACT, i).toString(16)}`,
      product: 'mFRR',
      direction,
      kw,
      startMs: i * q,
      endMs: (i + 1) * q,
    });
  }
  return out;
}
