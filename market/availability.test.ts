import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOrThrow } from '../model/index.js';
import { type AssetHeadroom, availability, type HeadroomPlan, HeadroomPlanSchema } from './availability.js';
import { findProduct, loadProducts, type ProductCatalog } from './product.js';

let catalog: ProductCatalog;
beforeAll(async () => {
  catalog = await loadProducts();
});
const product = (id: string) => findProduct(catalog, id);
const HOUR = 3_600_000;

function plan(assets: AssetHeadroom[], slots = 4, slotMs = HOUR): HeadroomPlan {
  return { startMs: 0, slotMs, slots, sites: [{ siteId: 'school', assets }] };
}

const battery = (over: Partial<Extract<AssetHeadroom, { kind: 'battery' }>> = {}): AssetHeadroom => ({
  kind: 'battery',
  id: 'battery',
  initialKwh: 5.5,
  minKwh: 1,
  maxKwh: 10,
  maxChargeKw: 10,
  maxDischargeKw: 10,
  chargeEfficiency: 1,
  dischargeEfficiency: 1,
  plannedKw: [0, 0, 0, 0],
  ...over,
});

describe('availability from plan headroom', () => {
  it('an energy-limited battery offers only what it can hold for FCR-N’s 3 min + 1 h', () => {
    const result = availability(plan([battery()]), product('fcr-n'));
    expect(result.sustainMs).toBe(63 * 60_000);
    const a = result.slots[0]!.sites[0]!.assets[0]!;
    // 4.5 kWh above the floor and below the ceiling over 1.05 h; the 10 kW inverter is not the limit
    expect(a.upKw).toBeCloseTo(4.5 / 1.05, 9);
    expect(a.downKw).toBeCloseTo(4.5 / 1.05, 9);
    expect(a).toMatchObject({ upLimitedBy: 'energy', downLimitedBy: 'energy' });
  });

  it('the same battery is power-limited for a short product', () => {
    const a = availability(plan([battery()]), product('ffr')).slots[0]!.sites[0]!.assets[0]!;
    expect(a).toMatchObject({ upKw: 10, downKw: 10, upLimitedBy: 'power', downLimitedBy: 'power' });
  });

  it('accounts for what the plan does to the battery later in the window', () => {
    // Planned to discharge 4 kW in slot 1: an FCR-N activation late in slot 0 overlaps it.
    const a = availability(plan([battery({ plannedKw: [0, 4, 0, 0] })]), product('fcr-n')).slots[0]!.sites[0]!
      .assets[0]!;
    expect(a.upKw).toBeLessThan(4.5 / 1.05);
    expect(a.upKw).toBeLessThanOrEqual(10 - 4); // discharge already planned shares the inverter
  });

  it('uses the optimiser’s stored-energy trajectory when given', () => {
    // The plan charges and discharges within slot 1 (net 0) and loses 1 kWh to efficiency.
    const stored = [5.5, 5.5, 4.5, 4.5, 4.5];
    const a = availability(plan([battery({ storedKwh: stored })]), product('fcr-n')).slots[0]!.sites[0]!
      .assets[0]!;
    expect(a.upKw).toBeCloseTo(3.5 / 1.05, 9); // from 0.95 h to 2 h, down to 4.5 kWh
    expect(a.downKw).toBeCloseTo(4.55 / 1.05, 9); // from 0 to 1.05 h, ending at 5.45 kWh
    expect(() =>
      parseOrThrow(HeadroomPlanSchema, plan([battery({ storedKwh: [1, 2] })]), 'headroom plan'),
    ).toThrow('sites[0].assets[0].storedKwh: expected 5 values (one per slot boundary), got 2');
  });

  it('offers nothing whose window runs past the plan horizon', () => {
    const slots = availability(plan([battery()]), product('fcr-n')).slots;
    expect(slots.map((s) => s.upKw > 0)).toEqual([true, true, false, false]);
    expect(slots[3]!.sites[0]!.assets[0]!.upLimitedBy).toBe('horizon');
  });

  it('a thermal zone is bounded by its comfort band energy and its heat pump', () => {
    const zone: AssetHeadroom = {
      kind: 'thermal',
      id: 'gym',
      maxKw: 12,
      plannedKw: [8, 8, 8, 8],
      upKwh: [10, 10, 10, 10],
      downKwh: [2, 2, 2, 2],
    };
    const a = availability(plan([zone]), product('fcr-n')).slots[0]!.sites[0]!.assets[0]!;
    expect(a).toMatchObject({ upKw: 8, upLimitedBy: 'power', downLimitedBy: 'comfort' });
    expect(a.downKw).toBeCloseTo(2 / 1.05, 9);
  });

  it('a sheddable load is not offered beyond its maximum shed duration', () => {
    const fans: AssetHeadroom = {
      kind: 'sheddable',
      id: 'fans',
      plannedKw: [20, 15, 20, 20],
      maxShedKw: 18,
      maxShedMinutes: 30,
    };
    const fcrN = availability(plan([fans]), product('fcr-n')).slots[0]!.sites[0]!.assets[0]!;
    expect(fcrN).toMatchObject({ upKw: 0, upLimitedBy: 'shed_duration', downKw: 0 });
    // mFRR: 12.5 min + 5 min fits in 30 min; an activation late in slot 0 runs into slot 1 (15 kW)
    const mfrr = availability(plan([fans]), product('mfrr')).slots[0]!.sites[0]!.assets[0]!;
    expect(mfrr).toMatchObject({ upKw: 15, upLimitedBy: 'power' });
  });

  it('aggregates sites into a portfolio; symmetric is held per site', () => {
    const p: HeadroomPlan = {
      startMs: 1_000,
      slotMs: HOUR,
      slots: 3,
      sites: [
        { siteId: 'a', assets: [battery({ plannedKw: [0, 0, 0] })] },
        {
          siteId: 'b',
          assets: [{ kind: 'sheddable', id: 'fans', plannedKw: [30, 30, 30], maxShedKw: 25 }],
        },
      ],
    };
    const slot = availability(p, product('mfrr')).slots[0]!;
    expect(slot).toMatchObject({ startMs: 1_000, endMs: 1_000 + HOUR });
    expect(slot.upKw).toBe(10 + 25);
    expect(slot.downKw).toBe(10);
    expect(slot.symmetricKw).toBe(10); // site b holds nothing down, so nothing symmetric
  });

  it('never promises what the battery cannot sustain (simulated every 30 s)', () => {
    const arb = fc.record({
      initial: fc.double({ min: 0, max: 20, noNaN: true }),
      eta: fc.double({ min: 0.8, max: 1, noNaN: true }),
      planned: fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: 6, maxLength: 6 }),
      productId: fc.constantFrom('fcr-n', 'fcr-d-up', 'afrr', 'mfrr'),
    });
    fc.assert(
      fc.property(arb, ({ initial, eta, planned, productId }) => {
        const b = battery({
          initialKwh: initial,
          minKwh: 2,
          maxKwh: 20,
          chargeEfficiency: eta,
          dischargeEfficiency: eta,
          plannedKw: planned,
        }) as Extract<AssetHeadroom, { kind: 'battery' }>;
        const p = plan([b], 6, 15 * 60_000);
        const result = availability(p, product(productId));
        const stepMs = 30_000; // every sustain time is a multiple of 30 s
        const violations: string[] = [];
        const run = (extraKw: number, startMs: number) => {
          let e = initial;
          let min = Number.POSITIVE_INFINITY;
          let max = Number.NEGATIVE_INFINITY;
          for (let t = 0; t < startMs + result.sustainMs; t += stepMs) {
            const net = planned[Math.floor(t / p.slotMs)]! + (t >= startMs ? extraKw : 0);
            if (Math.abs(net) > 10 + 1e-9) violations.push(`power ${net} at ${t}`);
            e += net > 0 ? (-net * stepMs) / HOUR / eta : (-net * stepMs * eta) / HOUR;
            if (t + stepMs > startMs) {
              min = Math.min(min, e);
              max = Math.max(max, e);
            }
          }
          return { min, max };
        };
        result.slots.forEach((slot, i) => {
          const a = slot.sites[0]!.assets[0]!;
          for (let start = i * p.slotMs; start <= (i + 1) * p.slotMs; start += stepMs) {
            if (a.upKw > 0 && run(a.upKw, start).min < 2 - 1e-5)
              violations.push(`up ${a.upKw} from ${start}`);
            if (a.downKw > 0 && run(-a.downKw, start).max > 20 + 1e-5)
              violations.push(`down ${a.downKw} from ${start}`);
          }
        });
        expect(violations).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('the plan schema names a series of the wrong length', () => {
    const bad = plan([battery({ plannedKw: [0, 0] })]);
    expect(() => parseOrThrow(HeadroomPlanSchema, bad, 'headroom plan')).toThrow(
      'headroom plan is invalid: sites[0].assets[0].plannedKw: expected 4 values (one per slot), got 2',
    );
  });
});
