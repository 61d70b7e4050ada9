import type { Quality, Reading } from '../model/index.js';

/**
 * The one freshness and quality policy for acting on a measured value (sizing an activation,
 * a plan's starting state, a restore's grid check): a value is used only when its reading was
 * `good` or `uncertain` (never `bad`: nothing invents a value) and it is no older than
 * `maxAgeMs` on the caller's clock. A `bad` reading does not erase the last good value but it
 * is not newer either: the old value ages out on its own.
 */
export interface FreshnessPolicy {
  /** Oldest value still used, ms (default 10 min: two missed 5-minute polls). */
  maxAgeMs: number;
  /** Whether `uncertain` readings count (default yes: measured, just suspicious). */
  acceptUncertain: boolean;
}

export const DEFAULT_FRESHNESS: FreshnessPolicy = { maxAgeMs: 10 * 60_000, acceptUncertain: true };

/** The latest usable value per point key. Pure: fed readings, asked with the time. */
export class LatestValues {
  private readonly values = new Map<string, { ts: number; value: number; quality: Quality }>();
  private readonly policy: FreshnessPolicy;

  constructor(policy: Partial<FreshnessPolicy> = {}) {
    this.policy = { ...DEFAULT_FRESHNESS, ...policy };
  }

  /** Take a reading; older than the one held, unusable by the policy: ignored. */
  update(r: Reading): void {
    if (r.value === null || r.quality === 'bad') return;
    if (r.quality === 'uncertain' && !this.policy.acceptUncertain) return;
    const held = this.values.get(r.pointId);
    if (held && held.ts > r.ts) return;
    this.values.set(r.pointId, { ts: r.ts, value: r.value, quality: r.quality });
  }

  /** The value of `key` if fresh at `nowMs`, else undefined. */
  get(key: string, nowMs: number): number | undefined {
    const v = this.values.get(key);
    return v && nowMs - v.ts <= this.policy.maxAgeMs ? v.value : undefined;
  }

  /** The value with its timestamp and quality, fresh or not (for display: "last seen …"). */
  last(key: string): { ts: number; value: number; quality: Quality } | undefined {
    return this.values.get(key);
  }

  /** A reader bound to a clock, as drivers take it (`readState`). */
  reader(now: () => number): (key: string) => number | undefined {
    return (key) => this.get(key, now());
  }
}
