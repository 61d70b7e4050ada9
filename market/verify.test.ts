import { beforeAll, describe, expect, it } from 'vitest';
import { findProduct, loadProducts, type ProductCatalog } from './product.js';
import { checkFrequencyResponse, type FrequencySample } from './verify.js';

let catalog: ProductCatalog;
beforeAll(async () => {
  catalog = await loadProducts();
});
const product = (id: string) => findProduct(catalog, id);

/** 20 s at 100 ms of a step to `hz` at t = 0; the site delivers `share` of `respond(k)` kW. */
function trace(hz: number, respond: (k: number) => number): FrequencySample[] {
  return Array.from({ length: 200 }, (_, k) => ({
    tMs: k * 100,
    hz,
    baselineKw: 2000,
    meteredKw: 2000 - respond(k),
  }));
}
// FCR-D up at 49.7 Hz asks for 50 % of 1000 kW, reached at 100 kW/s: 10 kW per sample up to 500.
const reference = (k: number) => Math.min(500, 10 * k);
// Σ over 200 samples: 10·(0 + … + 50) + 500·149 = 87,250 kW·samples of 0.1 s.
const EXPECTED_KWH = (87_250 * 0.1) / 3600;

describe('frequency response verification (markets.md B6.5)', () => {
  it('a response that follows the reference delivers fully', () => {
    const r = checkFrequencyResponse(product('fcr-d-up'), 1000, trace(49.7, reference));
    expect(r.expectedKw[50]).toBeCloseTo(500, 9);
    expect(r.expectedKwh).toBeCloseTo(EXPECTED_KWH, 9);
    expect(r.shortfallKwh).toBeCloseTo(0, 9);
    expect(r.performanceRatio).toBeCloseTo(1, 9);
  });

  it('counts the missing part of an 80 % response and gives no credit for over-delivery', () => {
    const low = checkFrequencyResponse(
      product('fcr-d-up'),
      1000,
      trace(49.7, (k) => 0.8 * reference(k)),
    );
    expect(low.shortfallKwh).toBeCloseTo(0.2 * EXPECTED_KWH, 9);
    expect(low.performanceRatio).toBeCloseTo(0.8, 9);
    expect(low.worstDeficitKw).toBeCloseTo(100, 9);
    const high = checkFrequencyResponse(
      product('fcr-d-up'),
      1000,
      trace(49.7, (k) => 2 * reference(k)),
    );
    expect(high.performanceRatio).toBeCloseTo(1, 9);
  });

  it('a response the wrong way is all shortfall, and a tolerance forgives small deficits', () => {
    const wrong = checkFrequencyResponse(
      product('fcr-d-up'),
      1000,
      trace(49.7, (k) => -reference(k)),
    );
    expect(wrong.creditedKwh).toBe(0);
    expect(wrong.shortfallKwh).toBeCloseTo(2 * EXPECTED_KWH, 9);
    const near = checkFrequencyResponse(
      product('fcr-d-up'),
      1000,
      trace(49.7, (k) => reference(k) - 5),
      {
        toleranceKw: 10,
      },
    );
    expect(near.shortfallKwh).toBe(0);
  });

  it('checks FCR-N in the down direction too', () => {
    // 50.05 Hz: −50 % of 200 kW; the site must consume 100 kW more
    const r = checkFrequencyResponse(
      product('fcr-n'),
      200,
      trace(50.05, () => -100),
    );
    expect(r.expectedKw.at(-1)).toBeCloseTo(-(0.0105 * 200 * 19.9), 6); // still ramping at 2.1 kW/s
    expect(r.shortfallKwh).toBe(0);
  });
});
