import { describe, expect, it } from 'vitest';
import { batterySavings } from './savings.js';

const prices = { importPrice: 0.4, exportPrice: 0.05 };

describe('batterySavings: the batteries against the no-control baseline (batteries idle)', () => {
  it('counts a discharge that replaced grid import at the import price', () => {
    // 4 kW imported while the battery gave 2 kW: idle, 6 kW would have come from the grid.
    const r = batterySavings([{ ...prices, gridKw: 4, batteryKw: -2 }], 15);
    expect(r).toEqual({ saved: expect.closeTo(2 * 0.25 * 0.4, 12), slots: 1 });
  });

  it('prices charging from surplus that would have been exported at the export price', () => {
    // 3 kW exported while the battery took 5 kW: idle, 8 kW would have been exported.
    const r = batterySavings([{ ...prices, gridKw: -3, batteryKw: 5 }], 60);
    expect(r.saved).toBeCloseTo(-(5 * 0.05), 12);
  });

  it('crosses zero: the part above the meter is priced as import, the rest as export', () => {
    // Import 1 kW while charging 3 kW: idle, 2 kW would have been exported.
    const r = batterySavings([{ ...prices, gridKw: 1, batteryKw: 3 }], 60);
    expect(r.saved).toBeCloseTo(-2 * 0.05 - 1 * 0.4, 12);
  });

  it('leaves out slots without a grid value or prices, and counts a site without battery as saving nothing', () => {
    const r = batterySavings(
      [
        { ...prices, gridKw: null, batteryKw: -2 },
        { importPrice: null, exportPrice: null, gridKw: 4, batteryKw: -2 },
        { ...prices, gridKw: 4, batteryKw: null },
      ],
      15,
    );
    expect(r).toEqual({ saved: 0, slots: 1 });
  });
});

describe('siteCurrency: prices in the site’s own currency on every page', () => {
  it('takes the configured tariff’s currency first, then the newest plan’s, else none', async () => {
    const { siteCurrency } = await import('../context.js');
    const ctx = { siteCurrencies: { lyon: 'EUR' } };
    expect(siteCurrency(ctx, 'lyon', { currency: 'CHF' })).toBe('EUR');
    expect(siteCurrency(ctx, 'bern', { currency: 'CHF' })).toBe('CHF');
    expect(siteCurrency(ctx, 'bern', undefined)).toBeNull();
    expect(siteCurrency({}, 'lyon', undefined)).toBeNull();
  });
});
