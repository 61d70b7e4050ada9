import { GridflexError } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';
import { tieKey } from './rounding.js';

/**
 * Per-interval allocation of pooled solar to participants (reference ledger.md § 7), in
 * integer mWh. Pure and columnar: interval t, participant i is index `t * n + i`.
 *
 * - `static`:  a_i = min(c_i, floor(s_i · P)); unused shares are exported.
 * - `dynamic`: a_i = c_i · min(1, P / C), largest remainder.
 * - `hybrid` with variant `residual-demand` (§ 7.4 "H"): the static pass, then the leftover
 *   L = P − Σ b_i goes in proportion to each participant's remaining demand c_i − b_i.
 *   (The cascading variant H′, re-offering L by static weights, is not implemented.)
 *
 * Invariants, every interval: 0 ≤ a_i ≤ c_i, Σ a_i + exported = P, exported ≥ 0.
 */
export type Method = 'static' | 'dynamic' | 'hybrid';
export type HybridVariant = 'residual-demand';

export interface AllocationInput {
  method: Method;
  /** Static shares in parts per million (Σ ≤ 1,000,000); required for static and hybrid. */
  sharesPpm: readonly number[];
  /** Pooled production per interval, mWh (integers ≥ 0). */
  production: Float64Array;
  /** Consumption per interval and participant, mWh, `t * n + i`. */
  consumption: Float64Array;
  /** Start of interval 0 (UTC ms) and the interval length, for the tie-break keys. */
  startMs: number;
  stepMs: number;
  /** `hashId(participant id)` per participant. */
  idHashes: readonly number[];
}

export interface Allocation {
  /** Allocated solar per interval and participant, mWh; grid = consumption − solar. */
  solar: Float64Array;
  /** Surplus exported per interval, mWh. */
  exported: Float64Array;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const MILLION = 1_000_000;

/** floor(a · b / d) for non-negative integers, exact beyond 2^53 via bigint. */
function mulDivFloor(a: number, b: number, d: number): number {
  const p = a * b;
  if (p <= SAFE) return Math.floor(p / d) - (Math.floor(p / d) * d > p ? 1 : 0);
  return Number((BigInt(a) * BigInt(b)) / BigInt(d));
}

export function allocate(input: AllocationInput): Allocation {
  const n = input.idHashes.length;
  const T = input.production.length;
  if (input.consumption.length !== n * T)
    throw new GridflexError(
      LEDGER_ERRORS.SHAPE,
      `consumption has ${input.consumption.length} values, expected ${n * T}`,
    );
  const shares = input.sharesPpm;
  if (input.method !== 'dynamic') {
    let sum = 0;
    for (const s of shares) sum += s;
    if (shares.length !== n || sum > MILLION)
      throw new GridflexError(
        LEDGER_ERRORS.SHARES,
        `static shares must be given for every unit and sum to at most 100 %`,
        {
          kind: 'input',
        },
      );
  }
  const solar = new Float64Array(n * T);
  const exported = new Float64Array(T);
  const w = new Float64Array(n);
  const q = new Float64Array(n);
  const rem = new Float64Array(n);
  const order: number[] = [];
  const keys = new Float64Array(n);
  const sorted = new Float64Array(n);

  // Largest remainder of `target` over weights w (Σ w = W > target), added into solar[base + i].
  const distribute = (target: number, W: number, base: number, intervalMs: number) => {
    let given = 0;
    let big = false;
    for (let i = 0; i < n; i++) {
      const p = target * w[i]!;
      if (p > SAFE) {
        big = true;
        break;
      }
      let f = Math.floor(p / W);
      let r = p - f * W;
      if (r < 0) {
        f -= 1;
        r += W;
      } else if (r >= W) {
        f += 1;
        r -= W;
      }
      q[i] = f;
      rem[i] = r;
      given += f;
    }
    if (big) {
      given = 0;
      const bt = BigInt(target);
      const bW = BigInt(W);
      for (let i = 0; i < n; i++) {
        const p = bt * BigInt(w[i]!);
        q[i] = Number(p / bW);
        // Remainders are below W, itself a safe integer, so they stay exact as numbers.
        rem[i] = Number(p % bW);
        given += q[i]!;
      }
    }
    const k = target - given;
    if (k > 0) {
      // The k largest remainders: the k-th largest value by a native sort, everything above it,
      // then the ties at it ordered by tie key and position (same order as a full sort).
      let m = 0;
      for (let i = 0; i < n; i++) if (rem[i]! > 0) sorted[m++] = rem[i]!;
      const view = sorted.subarray(0, m).sort();
      const threshold = view[m - k]!;
      let need = k;
      order.length = 0;
      for (let i = 0; i < n; i++) {
        if (rem[i]! > threshold) {
          q[i]! += 1;
          need--;
        } else if (rem[i] === threshold) order.push(i);
      }
      if (need === order.length) for (const i of order) q[i]! += 1;
      else {
        for (const i of order) keys[i] = tieKey(intervalMs, input.idHashes[i]!);
        order.sort((a, b) => keys[a]! - keys[b]! || a - b);
        for (let j = 0; j < need; j++) q[order[j]!]! += 1;
      }
    }
    for (let i = 0; i < n; i++) solar[base + i]! += q[i]!;
  };

  for (let t = 0; t < T; t++) {
    const base = t * n;
    const P = input.production[t]!;
    const intervalMs = input.startMs + t * input.stepMs;
    let C = 0;
    for (let i = 0; i < n; i++) C += input.consumption[base + i]!;
    let allocated = 0;
    if (input.method === 'dynamic') {
      if (C > 0 && P >= C) {
        for (let i = 0; i < n; i++) solar[base + i] = input.consumption[base + i]!;
        allocated = C;
      } else if (C > 0 && P > 0) {
        for (let i = 0; i < n; i++) w[i] = input.consumption[base + i]!;
        distribute(P, C, base, intervalMs);
        allocated = P;
      }
    } else {
      let R = 0;
      for (let i = 0; i < n; i++) {
        const c = input.consumption[base + i]!;
        const b = Math.min(c, mulDivFloor(shares[i]!, P, MILLION));
        solar[base + i] = b;
        allocated += b;
        w[i] = c - b;
        R += c - b;
      }
      if (input.method === 'hybrid') {
        const L = P - allocated;
        if (L > 0 && R > 0) {
          if (L >= R) {
            for (let i = 0; i < n; i++) solar[base + i]! += w[i]!;
            allocated += R;
          } else {
            distribute(L, R, base, intervalMs);
            allocated += L;
          }
        }
      }
    }
    exported[t] = P - allocated;
  }
  return { solar, exported };
}
