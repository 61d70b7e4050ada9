/**
 * Counter-based randomness: every random quantity is a pure function of (seed, keys), so the
 * simulation gives the same result for the same seed whatever step size or order is used.
 */

/** 32-bit avalanche hash (murmur3 finaliser) of a seed and integer keys. */
export function hash32(seed: number, ...keys: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const k of keys) {
    // Fold in both halves so keys beyond 2^32 (timestamps) still matter.
    const lo = k >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    h = Math.imul(h ^ lo, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h ^ hi, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in [0, 1). */
export function uniform(seed: number, ...keys: number[]): number {
  return hash32(seed, ...keys) / 4294967296;
}

/** Standard normal (Box–Muller over two hashed uniforms). */
export function gaussian(seed: number, ...keys: number[]): number {
  const u1 = Math.max(uniform(seed, ...keys, 1), 1e-12);
  const u2 = uniform(seed, ...keys, 2);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Smooth noise in time: standard-normal values at knots every `periodMs`, cosine-interpolated
 * between them. Continuous, so step size does not change the signal.
 */
export function smoothNoise(seed: number, key: number, tMs: number, periodMs: number): number {
  const x = tMs / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return gaussian(seed, key, i) * (1 - w) + gaussian(seed, key, i + 1) * w;
}

/** Stable integer key of a string (device ids), for use as a hash key. */
export function keyOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h >>> 0;
}
