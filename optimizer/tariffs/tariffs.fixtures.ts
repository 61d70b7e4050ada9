import type { SiteTariffInput } from './schema.js';

/**
 * A Swiss business tariff in round figures (assumed, not a utility's): time-of-use energy
 * until June, spot-indexed from July; grid fees with a day window; a monthly demand charge;
 * 8.1 % VAT.
 */
export const swissBusinessTariff: SiteTariffInput = {
  id: 'bern-business',
  currency: 'CHF',
  timezone: 'Europe/Zurich',
  versions: [
    {
      validFrom: '2026-01-01',
      energy: {
        kind: 'timeOfUse',
        otherPerKwh: 0.2,
        windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '21:00', perKwh: 0.28 }],
      },
      gridFees: {
        otherPerKwh: 0.05,
        windows: [
          { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '06:00', to: '22:00', perKwh: 0.09 },
        ],
      },
      peakCharge: { perKwMonth: 8 },
      feedIn: { kind: 'fixed', perKwh: 0.08 },
      vatPercent: 8.1,
    },
    {
      validFrom: '2026-07-01',
      energy: { kind: 'spot', markupPerKwh: 0.03 },
      gridFees: { otherPerKwh: 0.05, windows: [{ from: '22:00', to: '06:00', perKwh: 0.03 }] },
      peakCharge: { perKwMonth: 9 },
      feedIn: { kind: 'spot', markupPerKwh: -0.01 },
      vatPercent: 8.1,
    },
  ],
};
