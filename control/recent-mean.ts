import type { Reading } from '../model/index.js';

/**
 * The recent mean of a stepwise signal per point: a time-weighted exponential mean over about
 * `tauMs` (each value counts for as long as it held, not once per reading, so an on/off heat
 * pump reported only on change is averaged right). What a thermostat-cycled load will draw in
 * the next hour without the market is best guessed by what it drew over the last one. Pure:
 * fed readings, asked with the time.
 */
export interface RecentMeanOptions {
  /** Time constant of the exponential weighting, ms (default one hour). */
  tauMs?: number;
  /** Least history before a mean is given, ms (default 15 minutes). */
  minSpanMs?: number;
}

interface Held {
  /** When the mean was last brought up to date, and the value held since then. */
  ts: number;
  value: number;
  mean: number;
  since: number;
}

export class RecentMeans {
  private readonly held = new Map<string, Held>();
  private readonly tauMs: number;
  private readonly minSpanMs: number;

  constructor(o: RecentMeanOptions = {}) {
    this.tauMs = o.tauMs ?? 3_600_000;
    this.minSpanMs = o.minSpanMs ?? 15 * 60_000;
  }

  /** Take a reading. A bad one ends the history (nothing is known of the gap): it starts again. */
  update(r: Reading): void {
    if (r.value === null || r.quality === 'bad') {
      this.held.delete(r.pointId);
      return;
    }
    const h = this.held.get(r.pointId);
    if (!h) {
      this.held.set(r.pointId, { ts: r.ts, value: r.value, mean: r.value, since: r.ts });
      return;
    }
    if (r.ts < h.ts) return;
    h.mean = this.advance(h, r.ts);
    h.ts = r.ts;
    h.value = r.value;
  }

  /** The recent mean of `key` at `nowMs`, once at least `minSpanMs` of history is held. */
  get(key: string, nowMs: number): number | undefined {
    const h = this.held.get(key);
    if (!h || nowMs - h.since < this.minSpanMs) return undefined;
    return this.advance(h, Math.max(h.ts, nowMs));
  }

  private advance(h: Held, toMs: number): number {
    const w = Math.exp(-(toMs - h.ts) / this.tauMs);
    return h.mean * w + h.value * (1 - w);
  }
}
