import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  droopFraction,
  initialLocalResponse,
  type LocalResponseConfig,
  type LocalResponseState,
  rampRateKwPerS,
  requiredFraction,
  stepLocalResponse,
} from './droop.js';
import { findProduct, loadProducts, type Product, type ProductCatalog } from './product.js';

let catalog: ProductCatalog;
beforeAll(async () => {
  catalog = await loadProducts();
});
const product = (id: string) => findProduct(catalog, id);
function droop(id: string) {
  const a = product(id).activation;
  if (a.kind !== 'frequency_droop') throw new Error(`${id} is not a droop product`);
  return a;
}

/** Feed `hzAt(t)` sampled every `dtMs` from 0 to `untilMs`; returns the state per sample time. */
function simulate(config: LocalResponseConfig, hzAt: (tMs: number) => number, untilMs: number, dtMs = 100) {
  const states = new Map<number, LocalResponseState>();
  let state = initialLocalResponse(0);
  for (let t = 0; t <= untilMs; t += dtMs) {
    state = stepLocalResponse(config, state, { tMs: t, hz: hzAt(t) });
    states.set(t, state);
  }
  return states;
}

describe('droop curves (markets.md B6.5 expected responses)', () => {
  it.each([
    // FCR-N: C·clamp((50.0 − f)/0.1, −1, 1), ±0.01 Hz deadband
    ['fcr-n', 50.0, 0],
    ['fcr-n', 49.995, 0],
    ['fcr-n', 50.005, 0],
    ['fcr-n', 49.99, 0],
    ['fcr-n', 49.98, 0.2],
    ['fcr-n', 49.95, 0.5],
    ['fcr-n', 49.9, 1],
    ['fcr-n', 49.8, 1],
    ['fcr-n', 50.05, -0.5],
    ['fcr-n', 50.2, -1],
    // FCR-D up: C·clamp((49.9 − f)/0.4, 0, 1)
    ['fcr-d-up', 49.95, 0],
    ['fcr-d-up', 49.9, 0],
    ['fcr-d-up', 49.7, 0.5],
    ['fcr-d-up', 49.5, 1],
    ['fcr-d-up', 49.0, 1],
    ['fcr-d-up', 50.3, 0],
    // FCR-D down: the mirror at 50.1–50.5 Hz
    ['fcr-d-down', 50.3, -0.5],
    ['fcr-d-down', 50.5, -1],
    ['fcr-d-down', 50.7, -1],
    ['fcr-d-down', 49.5, 0],
  ] as const)('%s at %f Hz asks for %f of capacity', (id, hz, fraction) => {
    expect(droopFraction(droop(id), hz)).toBeCloseTo(fraction, 9);
  });

  it('FCR-N follows the reference formula everywhere outside the deadband', () => {
    fc.assert(
      fc.property(fc.double({ min: 49, max: 51, noNaN: true }), (hz) => {
        const expected = Math.abs(hz - 50) <= 0.01 ? 0 : Math.min(1, Math.max(-1, (50 - hz) / 0.1));
        expect(droopFraction(droop('fcr-n'), hz)).toBeCloseTo(expected, 9);
      }),
    );
  });
});

describe('ramp limiting honours the activation deadlines', () => {
  it.each([
    ['fcr-d-up', 1000, undefined, 100], // steepest segment 50 % in 5 s
    ['fcr-n', 100, undefined, 1.05], // 63 % in 60 s
    ['mfrr', 1000, undefined, 1000 / 750], // 100 % in 12.5 min
    ['ffr', 1000, 49.7, 1000 / 1.3],
    ['ffr', 1000, 49.5, 1000 / 0.7],
  ] as const)('%s with %d kW (trigger %s Hz) ramps at %f kW/s', (id, kw, trigger, rate) => {
    expect(rampRateKwPerS(product(id), kw, trigger)).toBeCloseTo(rate, 9);
  });

  it.each([
    ['fcr-d-up', 49.5, 1000, [5000, 30_000]],
    ['fcr-d-down', 50.5, -1000, [5000, 30_000]],
    ['fcr-n', 49.9, 100, [60_000, 180_000]],
    ['fcr-n', 50.1, -100, [60_000, 180_000]],
  ] as const)('a step of %s to %f Hz meets every step deadline', (id, hz, fullKw, deadlines) => {
    const p: Product = product(id);
    const states = simulate(
      { product: p, capacityKw: Math.abs(fullKw) },
      (t) => (t === 0 ? 50 : hz),
      200_000,
    );
    for (const [t, s] of states) {
      const required = requiredFraction(p, t - 100) * Math.abs(fullKw);
      expect(Math.abs(s.kw)).toBeGreaterThanOrEqual(required - 1e-9);
      expect(Math.abs(s.kw)).toBeLessThanOrEqual(Math.abs(fullKw) + 1e-9);
      expect(Math.sign(s.kw) || Math.sign(fullKw)).toBe(Math.sign(fullKw));
    }
    const [partial, full] = deadlines;
    expect(Math.abs(states.get(partial + 100)!.kw)).toBeGreaterThanOrEqual(
      p.steps[0]!.fraction * Math.abs(fullKw) - 1e-9,
    );
    expect(states.get(full + 100)!.kw).toBeCloseTo(fullKw, 9);
  });

  it('returns to zero when the frequency comes back', () => {
    const p = product('fcr-d-up');
    const states = simulate({ product: p, capacityKw: 1000 }, (t) => (t < 20_000 ? 49.5 : 50), 40_000);
    expect(states.get(19_900)!.kw).toBeCloseTo(1000, 9);
    expect(states.get(24_900)!.kw).toBeCloseTo(500, 9); // 100 kW/s from 20.0 s
    expect(states.get(40_000)!.kw).toBe(0);
  });
});

describe('FFR', () => {
  const dip = (t: number) => (t >= 1000 && t < 3000 ? 49.65 : 50);

  it('reaches full power within the trigger time, supports 5 s, then deactivates at ≤ 20 % per second', () => {
    const states = simulate({ product: product('ffr'), capacityKw: 1000, ffrTriggerHz: 49.7 }, dip, 15_000);
    expect(states.get(900)!.kw).toBe(0);
    expect(states.get(2300)!.kw).toBeCloseTo(1000, 9); // 1.3 s after the trigger at 49.7 Hz
    expect(states.get(7200)!.kw).toBeCloseTo(1000, 9); // support until 2.3 s + 5 s
    expect(states.get(8200)!.kw).toBeCloseTo(800, 6); // 200 kW/s from 7.3 s
    expect(states.get(12_400)!.kw).toBe(0);
    let prev = 1000;
    for (const [t, s] of states) {
      if (t > 7300) expect(prev - s.kw).toBeLessThanOrEqual(0.2 * 1000 * 0.1 + 1e-9);
      prev = s.kw;
    }
  });

  it('does not trigger above its trigger frequency', () => {
    const states = simulate({ product: product('ffr'), capacityKw: 1000, ffrTriggerHz: 49.6 }, dip, 5000);
    expect([...states.values()].every((s) => s.kw === 0)).toBe(true);
  });

  it('refuses a trigger frequency the product does not have', () => {
    expect(() =>
      stepLocalResponse(
        { product: product('ffr'), capacityKw: 1, ffrTriggerHz: 49.8 },
        initialLocalResponse(0),
        {
          tMs: 0,
          hz: 50,
        },
      ),
    ).toThrow(expect.objectContaining({ code: 'GFX_MARKET_FFR_TRIGGER' }));
  });
});

it('operator-signal products have no local frequency response', () => {
  expect(() =>
    stepLocalResponse({ product: product('mfrr'), capacityKw: 1 }, initialLocalResponse(0), {
      tMs: 0,
      hz: 49,
    }),
  ).toThrow(expect.objectContaining({ code: 'GFX_MARKET_NOT_LOCAL' }));
});
