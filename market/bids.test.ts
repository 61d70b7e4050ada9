import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Availability } from './availability.js';
import { acceptBids, type Bid, bidPrice, buildBids } from './bids.js';
import { findProduct, loadProducts, type ProductCatalog } from './product.js';

let catalog: ProductCatalog;
beforeAll(async () => {
  catalog = await loadProducts();
});
const product = (id: string) => findProduct(catalog, id);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 0);
const fixed = { kind: 'fixed', priceCentsPerMwh: 1250 } as const;

/** Availability with 15-min slots; each slot lists site → [up, down] kW. */
function avail(productId: string, slots: Record<string, [number, number]>[], startMs = T0): Availability {
  const q = HOUR / 4;
  return {
    productId,
    sustainMs: HOUR,
    slots: slots.map((sites, i) => {
      const list = Object.entries(sites).map(([siteId, [upKw, downKw]]) => ({
        siteId,
        upKw,
        downKw,
        symmetricKw: Math.min(upKw, downKw),
        assets: [],
      }));
      return {
        startMs: startMs + i * q,
        endMs: startMs + (i + 1) * q,
        upKw: list.reduce((a, s) => a + s.upKw, 0),
        downKw: list.reduce((a, s) => a + s.downKw, 0),
        symmetricKw: list.reduce((a, s) => a + s.symmetricKw, 0),
        sites: list,
      };
    }),
  };
}
const hourOf = (sites: Record<string, [number, number]>) => [sites, sites, sites, sites];

describe('capacity bids', () => {
  it('hold the weakest slot of the hour, per site, rounded down to the bid step', () => {
    const slots = hourOf({ school: [70, 63.3], hall: [80.05, 90] });
    slots[2] = { school: [70, 60], hall: [80.05, 90] };
    const { bids, skipped } = buildBids(avail('fcr-n', slots), product('fcr-n'), fixed);
    expect(skipped).toEqual([]);
    expect(bids).toHaveLength(1);
    const bid = bids[0]!;
    // symmetric: school min(70, 60) = 60, hall 80.05 → 140.05 kW → 100 kW (step 0.1 MW)
    expect(bid).toMatchObject({
      id: 'fcr-n:2026-11-23T00:00:00.000Z:0',
      direction: 'symmetric',
      startMs: T0,
      endMs: T0 + HOUR,
      kw: 100,
      priceCentsPerMwh: 1250,
    });
    const shares = Object.fromEntries(bid.sites.map((s) => [s.siteId, s.kw]));
    expect(shares.school! + shares.hall!).toBeCloseTo(100, 9);
    expect(shares.school).toBeLessThanOrEqual(60);
    expect(shares.hall).toBeLessThanOrEqual(80.05);
    expect(shares.school).toBeCloseTo((100 * 60) / 140.05, 2);
  });

  it('skip a period below the minimum bid and one the plan does not fully cover', () => {
    const slots = [...hourOf({ school: [99.9, 99.9] }), ...hourOf({ school: [500, 500] }).slice(0, 3)];
    const { bids, skipped } = buildBids(avail('fcr-n', slots), product('fcr-n'), fixed);
    expect(bids).toEqual([]);
    expect(skipped).toEqual([
      { startMs: T0, endMs: T0 + HOUR, reason: 'below_minimum', kw: 0 },
      { startMs: T0 + HOUR, endMs: T0 + 2 * HOUR, reason: 'incomplete_period', kw: 0 },
    ]);
  });

  it.each([
    ['fcr-n', 12_345, [4100, 4100, 4100]], // max 5 MW per bid
    ['fcr-d-up', 10_550, [5300, 5200]], // max 10 MW: not 10 + 0.5 (below the 1 MW minimum)
    ['mfrr', 2_999, [2000]], // 15-min periods, whole MW, no maximum
  ] as const)('%s: %d kW splits into bids of %j kW', (id, kw, expected) => {
    const { bids } = buildBids(avail(id, hourOf({ plant: [kw, kw] })), product(id), fixed);
    const first = bids.filter((b) => b.startMs === T0);
    expect(first.map((b) => b.kw)).toEqual(expected);
  });

  it('bid every quarter of an hourly plan for a 15-min product', () => {
    const hourly = avail('mfrr', hourOf({ plant: [2500, 0] }));
    const slot = { ...hourly.slots[0]!, endMs: T0 + HOUR };
    const { bids } = buildBids({ ...hourly, slots: [slot] }, product('mfrr'), fixed);
    expect(bids.map((b) => [b.startMs - T0, b.kw])).toEqual([
      [0, 2000],
      [HOUR / 4, 2000],
      [HOUR / 2, 2000],
      [(3 * HOUR) / 4, 2000],
    ]);
  });

  it('never offer more than is available, nor off-step, undersized or oversized bids', () => {
    const site = fc.tuple(
      fc.double({ min: 0, max: 8000, noNaN: true }),
      fc.double({ min: 0, max: 8000, noNaN: true }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('fcr-n', 'fcr-d-up', 'fcr-d-down', 'afrr', 'dr-event'),
        fc.array(fc.dictionary(fc.constantFrom('a', 'b', 'c'), site, { minKeys: 3, maxKeys: 3 }), {
          minLength: 4,
          maxLength: 4,
        }),
        (id, slots) => {
          const p = product(id);
          const a = avail(id, slots);
          const { bids } = buildBids(a, p, fixed);
          const pick = (s: { upKw: number; downKw: number; symmetricKw: number }) =>
            p.direction === 'up' ? s.upKw : p.direction === 'down' ? s.downKw : s.symmetricKw;
          const held = new Map<string, number>();
          for (const bid of bids) {
            const steps = bid.kw / p.bidStepKw;
            expect(Math.abs(steps - Math.round(steps))).toBeLessThan(1e-9);
            expect(bid.kw).toBeGreaterThanOrEqual(p.minBidKw);
            expect(bid.kw).toBeLessThanOrEqual(p.maxBidKw ?? Number.POSITIVE_INFINITY);
            expect(bid.sites.reduce((x, s) => x + s.kw, 0)).toBeCloseTo(bid.kw, 9);
            for (const s of bid.sites) held.set(s.siteId, (held.get(s.siteId) ?? 0) + s.kw);
          }
          // within the documented 1 µW tolerance of the kW → W conversion
          for (const [siteId, kw] of held)
            for (const slot of a.slots)
              expect(kw).toBeLessThanOrEqual(pick(slot.sites.find((s) => s.siteId === siteId)!) + 1e-9);
        },
      ),
    );
  });

  it('price by strategy, never below cost', () => {
    expect(bidPrice(fixed)).toBe(1250);
    expect(bidPrice({ kind: 'cost_plus', costCentsPerMwh: 1000, marginPct: 15 })).toBe(1150);
    expect(bidPrice({ kind: 'cost_plus', costCentsPerMwh: 333, marginPct: 10 })).toBe(367);
  });
});

describe('accepted bids become obligations', () => {
  let bids: Bid[];
  beforeAll(() => {
    bids = buildBids(
      avail('fcr-d-up', hourOf({ school: [1500, 0], hall: [500, 0] })),
      product('fcr-d-up'),
      fixed,
    ).bids;
  });

  it('carry sites, price and the sustain time the optimiser must reserve for', () => {
    expect(bids.map((b) => b.kw)).toEqual([2000]);
    const [o] = acceptBids(bids, [{ bidId: bids[0]!.id, priceCentsPerMwh: 1400 }], product('fcr-d-up'));
    expect(o).toMatchObject({ kw: 2000, priceCentsPerMwh: 1400, sustainMs: 30_000 + 20 * 60_000 });
    expect(o!.sites).toEqual([
      { siteId: 'school', kw: 1500 },
      { siteId: 'hall', kw: 500 },
    ]);
  });

  it('share a partial acceptance over the sites in proportion', () => {
    const [o] = acceptBids(bids, [{ bidId: bids[0]!.id, acceptedKw: 1200 }], product('fcr-d-up'));
    expect(o!.kw).toBe(1200);
    expect(o!.sites).toEqual([
      { siteId: 'school', kw: 900 },
      { siteId: 'hall', kw: 300 },
    ]);
  });

  it.each([
    [[{ bidId: 'nope' }], 'nope: no such fcr-d-up bid'],
    [[{ bidId: 'ID' }, { bidId: 'ID' }], ':0: accepted twice'],
    [[{ bidId: 'ID', acceptedKw: 2100 }], 'accepted 2100 kW is more than the 2000 kW bid'],
    [[{ bidId: 'ID', acceptedKw: 1250 }], 'accepted 1250 kW is not a multiple of 100 kW'],
  ])('refuse bad acceptances whole (%j)', (acceptances, message) => {
    const withId = acceptances.map((a) => ({ ...a, bidId: a.bidId === 'ID' ? bids[0]!.id : a.bidId }));
    expect(() => acceptBids(bids, withId, product('fcr-d-up'))).toThrow(
      expect.objectContaining({ code: 'GFX_MARKET_ACCEPTANCE', message: expect.stringContaining(message) }),
    );
  });
});
