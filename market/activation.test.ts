import { beforeAll, describe, expect, it } from 'vitest';
import { type ActivationRequest, planActivation } from './activation.js';
import type { Obligation } from './bids.js';
import { findProduct, loadProducts, type ProductCatalog } from './product.js';

let catalog: ProductCatalog;
beforeAll(async () => {
  catalog = await loadProducts();
});
const product = (id: string) => findProduct(catalog, id);
const Q = 15 * 60_000;
const T = Date.UTC(2026, 10, 23, 10);

const obligation = (over: Partial<Obligation> = {}): Obligation => ({
  id: `mfrr:${new Date(T).toISOString()}:0`,
  productId: 'mfrr',
  direction: 'up',
  startMs: T,
  endMs: T + Q,
  kw: 2000,
  priceCentsPerMwh: 900,
  sites: [
    { siteId: 'school', kw: 1500 },
    { siteId: 'hall', kw: 500 },
  ],
  sustainMs: 750_000 + 5 * 60_000,
  ...over,
});
const request = (over: Partial<ActivationRequest> = {}): ActivationRequest => ({
  id: 'A39-0001',
  productId: 'mfrr',
  startMs: T + 60_000,
  durationMs: 10 * 60_000,
  kw: 1000,
  ...over,
});

describe('activation requests against obligations', () => {
  it('split the request over the sites that hold the reserve, with the full-activation deadline', () => {
    const plan = planActivation(request(), product('mfrr'), [obligation()]);
    expect(plan).toEqual({
      id: 'A39-0001',
      productId: 'mfrr',
      direction: 'up',
      startMs: T + 60_000,
      fullByMs: T + 60_000 + 750_000,
      endMs: T + 60_000 + 10 * 60_000,
      kw: 1000,
      sites: [
        { siteId: 'school', kw: 750 },
        { siteId: 'hall', kw: 250 },
      ],
      warnings: [],
    });
  });

  it('warn when held longer than the reserve was sized for', () => {
    const plan = planActivation(request({ durationMs: 30 * 60_000 }), product('mfrr'), [obligation()]);
    expect(plan.warnings).toEqual([
      'durationMs: 30 min is longer than the 17.5 min the reserve was sized for',
    ]);
  });

  it.each([
    [{ kw: 2500 }, 'kw: 2500 kW is more than the 2000 kW held'],
    [{ startMs: T + Q }, 'startMs: no mfrr obligation in force at 2026-11-23T10:15:00.000Z'],
    [{ direction: 'down' as const }, 'direction: mfrr is up only'],
    [{ productId: 'afrr' }, 'productId: request is for afrr, not mfrr'],
  ])('refuse %j whole', (over, problem) => {
    expect(() => planActivation(request(over), product('mfrr'), [obligation()])).toThrow(
      expect.objectContaining({
        code: 'GFX_MARKET_ACTIVATION',
        kind: 'input',
        details: { problems: expect.arrayContaining([problem]) },
      }),
    );
  });

  it('need a direction for a symmetric product and refuse frequency products', () => {
    const afrr = obligation({ productId: 'afrr', direction: 'symmetric' });
    expect(() => planActivation(request({ productId: 'afrr' }), product('afrr'), [afrr])).toThrow(
      'direction: required for the symmetric product afrr',
    );
    expect(
      planActivation(request({ productId: 'afrr', direction: 'down' }), product('afrr'), [afrr]).direction,
    ).toBe('down');
    expect(() =>
      planActivation(request({ productId: 'fcr-n', direction: 'up' }), product('fcr-n'), [
        obligation({ productId: 'fcr-n', direction: 'symmetric' }),
      ]),
    ).toThrow('fcr-n is activated by local frequency, not by the operator');
  });
});
