import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, type Method } from './allocate.js';
import { apportion, hashId, tieKey } from './rounding.js';

const KWH = 1_000_000;
const ids = ['A', 'B', 'C'];
// § 7.6: P and c per quarter-hour, kWh.
const P = [6, 9, 2, 3];
const c = [
  [1, 2, 3],
  [1, 2, 3],
  [1, 1, 1],
  [2, 0, 4],
];

function run(method: Method) {
  const result = allocate({
    method,
    sharesPpm: [500_000, 300_000, 200_000],
    production: Float64Array.from(P, (x) => x * KWH),
    consumption: Float64Array.from(c.flat(), (x) => x * KWH),
    startMs: Date.UTC(2026, 9, 1),
    stepMs: 900_000,
    idHashes: ids.map(hashId),
  });
  const totals = [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, t) => s + result.solar[t * 3 + i]!, 0));
  const exported = result.exported.reduce((s, x) => s + x, 0);
  return { result, totals, exported };
}

describe('allocation reproduces the worked example of ledger.md § 7.6 in mWh', () => {
  it('static 50/30/20: A 4.5, B 4.4, C 4.0 kWh, 7.1 kWh exported', () => {
    const { result, totals, exported } = run('static');
    expect(totals).toEqual([4_500_000, 4_400_000, 4_000_000]);
    expect(exported).toBe(7_100_000);
    expect([...result.exported]).toEqual([2_000_000, 4_200_000, 0, 900_000]);
  });

  it('dynamic: 11/3, 14/3, 26/3 kWh to the mWh, 3 kWh exported, t3 split 2 kWh exactly', () => {
    const { result, totals, exported } = run('dynamic');
    expect(totals.reduce((a, b) => a + b)).toBe(17_000_000);
    expect(exported).toBe(3_000_000);
    const exact = [11 / 3, 14 / 3, 26 / 3].map((x) => x * KWH);
    totals.forEach((t, i) => {
      expect(Math.abs(t - exact[i]!)).toBeLessThan(1);
    });
    const t3 = [...result.solar.subarray(6, 9)].sort();
    expect(t3).toEqual([666_666, 666_667, 666_667]);
  });

  it('hybrid (residual demand): 60/13, 4.6, 506/65 kWh; pass 2 at t4 gives A 115,385 and C 784,615 mWh', () => {
    const { result, totals, exported } = run('hybrid');
    expect(totals).toEqual([4_615_385, 4_600_000, 7_784_615]);
    expect(exported).toBe(3_000_000);
    expect([...result.solar.subarray(9, 12)]).toEqual([1_615_385, 0, 1_384_615]);
  });

  it('is deterministic: the same inputs give bit-identical outputs', () => {
    expect(run('dynamic').result.solar).toEqual(run('dynamic').result.solar);
  });
});

describe('allocation invariants hold for random communities (fast-check)', () => {
  const community = fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      method: fc.constantFrom<Method>('static', 'dynamic', 'hybrid'),
      shares: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: n, maxLength: n }),
      intervals: fc.array(
        fc.record({
          p: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50_000_000 }), fc.maxSafeNat()),
          c: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000_000 }), fc.maxSafeNat()), {
            minLength: n,
            maxLength: n,
          }),
        }),
        { minLength: 1, maxLength: 20 },
      ),
    }),
  );

  it('0 ≤ a ≤ c, Σa + exported = P, and the pool is at most min(P, Σc)', () => {
    fc.assert(
      fc.property(community, ({ n, method, shares, intervals }) => {
        // Normalise shares to Σ ≤ 100 % in ppm.
        const sum = shares.reduce((a, b) => a + b, 0);
        const ppm = sum > 1_000_000 ? shares.map((s) => Math.floor((s * 1_000_000) / sum)) : shares;
        // Keep Σc a safe integer: the consumption of an interval is a sum of safe integers.
        const cons = intervals.map((iv) => iv.c.map((x) => Math.floor(x / (n + 1))));
        const { solar, exported } = allocate({
          method,
          sharesPpm: ppm,
          production: Float64Array.from(intervals, (iv) => iv.p),
          consumption: Float64Array.from(cons.flat()),
          startMs: 0,
          stepMs: 900_000,
          idHashes: Array.from({ length: n }, (_, i) => hashId(`u${i}`)),
        });
        intervals.forEach((iv, t) => {
          let allocated = 0n;
          let C = 0n;
          for (let i = 0; i < n; i++) {
            const a = solar[t * n + i]!;
            expect(Number.isInteger(a)).toBe(true);
            expect(a).toBeGreaterThanOrEqual(0);
            expect(a).toBeLessThanOrEqual(cons[t]![i]!);
            allocated += BigInt(a);
            C += BigInt(cons[t]![i]!);
          }
          expect(exported[t]!).toBeGreaterThanOrEqual(0);
          expect(allocated + BigInt(exported[t]!)).toBe(BigInt(iv.p));
          const pool = BigInt(iv.p) < C ? BigInt(iv.p) : C;
          expect(allocated <= pool).toBe(true);
          if (method !== 'static') expect(allocated).toBe(pool);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('the fast largest-remainder selection', () => {
  it('gives exactly what the reference apportionment (full sort, bigint) gives, ties included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 10_000 }),
        (c, p, t) => {
          const C = c.reduce((a, b) => a + b, 0);
          fc.pre(p < C);
          const ids = c.map((_, i) => hashId(`u${i}`));
          const startMs = t * 900_000;
          const { solar } = allocate({
            method: 'dynamic',
            sharesPpm: [],
            production: Float64Array.of(p),
            consumption: Float64Array.from(c),
            startMs,
            stepMs: 900_000,
            idHashes: ids,
          });
          const expected = apportion(
            BigInt(p),
            c.map((x) => BigInt(x)),
            ids.map((h) => tieKey(startMs, h)),
          );
          expect([...solar]).toEqual(expected.map(Number));
        },
      ),
      { numRuns: 500 },
    );
  });
});
