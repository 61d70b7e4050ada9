/**
 * Largest-remainder apportionment with a deterministic tie-break.
 *
 * Every share starts at floor(exact); the k = target − Σ floor units left go, one each, to the
 * shares with the largest remainders. Equal remainders are ordered by `tieKeys` ascending
 * (a per-interval hash of the participant, see `tieKey`), then by index, so no participant is
 * favoured by its position in the configuration and the result is bit-identical on every run.
 */
export function apportion(target: bigint, weights: readonly bigint[], tieKeys: readonly number[]): bigint[] {
  const n = weights.length;
  const out = new Array<bigint>(n).fill(0n);
  let total = 0n;
  for (const w of weights) total += w;
  if (target === 0n || total === 0n) return out;
  const rem = new Array<bigint>(n);
  let given = 0n;
  for (let i = 0; i < n; i++) {
    const num = target * weights[i]!;
    out[i] = num / total;
    rem[i] = num % total;
    given += out[i]!;
  }
  return giveRemainder(out, rem, Number(target - given), tieKeys);
}

/**
 * Split rational amounts `numerators[i] / den` into integers whose sum is the half-up rounded
 * total: floor each, then largest remainder.
 */
export function apportionRational(
  numerators: readonly bigint[],
  den: bigint,
  tieKeys: readonly number[],
): bigint[] {
  let sum = 0n;
  for (const x of numerators) sum += x;
  const target = roundHalfUp(sum, den);
  const out = numerators.map((x) => x / den);
  const rem = numerators.map((x) => x % den);
  let given = 0n;
  for (const x of out) given += x;
  return giveRemainder(out, rem, Number(target - given), tieKeys);
}

/**
 * The largest-remainder step of both splits: `k` more units, one each to the parts with the
 * largest remainder; equal remainders go by `tieKeys`, then by position.
 */
function giveRemainder(
  out: bigint[],
  rem: readonly bigint[],
  k: number,
  tieKeys: readonly number[],
): bigint[] {
  if (k > 0) {
    const order = [...out.keys()].sort((a, b) =>
      rem[a]! !== rem[b]! ? (rem[a]! > rem[b]! ? -1 : 1) : tieKeys[a]! - tieKeys[b]! || a - b,
    );
    for (let j = 0; j < k; j++) out[order[j]!]! += 1n;
  }
  return out;
}

/** num/den rounded half up (non-negative inputs). */
export function roundHalfUp(num: bigint, den: bigint): bigint {
  return (2n * num + den) / (2n * den);
}

/** 32-bit FNV-1a of a string: a participant's stable identity for tie-breaking. */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Tie-break key of participant `idHash` in the interval starting at `intervalMs`: a murmur3
 * finaliser over both, so which participant wins a tie changes from interval to interval.
 */
export function tieKey(intervalMs: number, idHash: number): number {
  let h = (Math.floor(intervalMs / 60_000) ^ idHash) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
