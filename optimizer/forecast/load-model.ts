import { localTime } from '../../model/index.js';

/**
 * Load forecast learnt from history, pure: a profile per local weekday and time of day,
 * exponentially weighted so recent weeks count more, scaled by the recent level (how far the
 * last hours ran above or below their profile), that scaling fading over the horizon. Measured
 * by its error (MAE, MAPE) against what came.
 */
export interface LoadHistory {
  startMs: number;
  slotMinutes: number;
  /** Mean kW per slot; null where nothing was measured. */
  kw: readonly (number | null)[];
}

export interface LoadModelOptions {
  timezone: string;
  /** Weight of the newest week in the profile (0 < α ≤ 1); default 0.3. */
  alpha?: number;
  /** Hours before the forecast start that set the recent level; default 3. */
  levelHours?: number;
  /** How fast the level's effect fades over the horizon (e-folding time, hours); default 6. */
  levelFadeHours?: number;
}

export interface LoadModel {
  timezone: string;
  slotMinutes: number;
  /** weekday (0 = Sunday) × slot of the local day → EWMA kW (NaN: never seen). */
  profile: Float64Array[];
  /** Per slot of the day, over all weekdays: the fallback for a weekday not seen yet. */
  anyDay: Float64Array;
  meanKw: number;
  options: Required<Omit<LoadModelOptions, 'timezone'>>;
}

function key(ms: number, tz: string, slotMinutes: number): [number, number] {
  const lt = localTime(ms, tz);
  return [lt.weekday, Math.floor((lt.hour * 60 + lt.minute) / slotMinutes)];
}

/** Fits the weekday/time-of-day profiles on a history (oldest first). */
export function fitLoadModel(history: LoadHistory, options: LoadModelOptions): LoadModel {
  const o = { alpha: 0.3, levelHours: 3, levelFadeHours: 6, ...options };
  const perDay = Math.round(1440 / history.slotMinutes);
  const profile = Array.from({ length: 7 }, () => new Float64Array(perDay).fill(Number.NaN));
  const anySum = new Float64Array(perDay);
  const anyN = new Float64Array(perDay);
  let sum = 0;
  let n = 0;
  const slotMs = history.slotMinutes * 60_000;
  history.kw.forEach((kw, t) => {
    if (kw === null) return;
    const [day, s] = key(history.startMs + t * slotMs, o.timezone, history.slotMinutes);
    const p = profile[day]!;
    // A 25-hour day's repeated local hour folds onto the same slot; that is one extra update.
    p[s] = Number.isNaN(p[s]!) ? kw : p[s]! + o.alpha * (kw - p[s]!);
    anySum[s]! += kw;
    anyN[s]! += 1;
    sum += kw;
    n++;
  });
  const meanKw = n > 0 ? sum / n : 0;
  const anyDay = anySum.map((v, s) => (anyN[s]! > 0 ? v / anyN[s]! : meanKw));
  const { timezone: _, ...rest } = o;
  return { timezone: o.timezone, slotMinutes: history.slotMinutes, profile, anyDay, meanKw, options: rest };
}

/** The profile's value for the slot starting at ms. */
export function profileKw(model: LoadModel, ms: number): number {
  const [day, s] = key(ms, model.timezone, model.slotMinutes);
  const v = model.profile[day]![s]!;
  return Number.isNaN(v) ? model.anyDay[s]! : v;
}

/** Level bounds: one odd afternoon must not double or halve tomorrow. */
const LEVEL_MIN = 0.5;
const LEVEL_MAX = 2;

export interface LoadForecast {
  kw: number[];
  /** Measured ÷ profile over the hours before the start (1 without recent data). */
  level: number;
}

/**
 * Forecast for `slots` slots from `startMs`; `recent` holds the measured kW of the slots just
 * before the start (oldest first, the last one ends at `startMs`).
 */
export function predictLoad(
  model: LoadModel,
  startMs: number,
  slots: number,
  recent: readonly (number | null)[] = [],
): LoadForecast {
  const slotMs = model.slotMinutes * 60_000;
  const h = model.slotMinutes / 60;
  const levelSlots = Math.round(model.options.levelHours / h);
  let measured = 0;
  let expected = 0;
  recent.slice(-levelSlots).forEach((kw, i, arr) => {
    if (kw === null) return;
    measured += kw;
    expected += profileKw(model, startMs - (arr.length - i) * slotMs);
  });
  const level = expected > 0 ? Math.min(LEVEL_MAX, Math.max(LEVEL_MIN, measured / expected)) : 1;
  const kw = Array.from({ length: slots }, (_, t) => {
    const fade = Math.exp(-(t * h) / model.options.levelFadeHours);
    return Math.max(0, profileKw(model, startMs + t * slotMs) * (1 + (level - 1) * fade));
  });
  return { kw, level };
}

export interface LoadForecastError {
  /** Mean absolute error, kW. */
  maeKw: number | null;
  /** Mean absolute percentage error over slots whose actual is at least `mapeFloorKw`, %. */
  mapePercent: number | null;
  /** Mean of forecast − actual, kW. */
  biasKw: number | null;
  n: number;
}

/**
 * Error against actuals; slots without an actual are skipped. MAPE leaves out near-zero actuals
 * (below `mapeFloorKw`, default 0.1 kW), where a percentage says nothing.
 */
export function loadForecastError(
  forecast: readonly number[],
  actual: readonly (number | null)[],
  mapeFloorKw = 0.1,
): LoadForecastError {
  let abs = 0;
  let bias = 0;
  let pct = 0;
  let n = 0;
  let nPct = 0;
  forecast.forEach((f, t) => {
    const a = actual[t];
    if (a === null || a === undefined) return;
    abs += Math.abs(f - a);
    bias += f - a;
    n++;
    if (Math.abs(a) >= mapeFloorKw) {
      pct += Math.abs(f - a) / Math.abs(a);
      nPct++;
    }
  });
  if (n === 0) return { maeKw: null, mapePercent: null, biasKw: null, n };
  return { maeKw: abs / n, mapePercent: nPct > 0 ? (100 * pct) / nPct : null, biasKw: bias / n, n };
}
