import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { billPeriod } from './billing.js';
import { CommunitySchema, compileCommunity } from './community.js';
import { parseReadingsCsv } from './readings.js';

const Q = 900_000;
const START = Date.UTC(2026, 2, 28, 20); // spans the spring clock change in Zurich
const price = fc.integer({ min: 0, max: 999_999 }).map((x) => `0.${String(x).padStart(6, '0')}`);

const scenario = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    T: fc.integer({ min: 4, max: 48 }),
    method: fc.constantFrom('static', 'dynamic', 'hybrid'),
    shares: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: n, maxLength: n }),
    prices: fc.record({ solar: price, peak: price, off: price, feed: price }),
    fee: fc.integer({ min: 0, max: 5000 }),
    vat: fc.constantFrom('0', '8.1', '7.7', '20'),
    secondTariffAt: fc.option(fc.integer({ min: 1, max: 47 })),
    moveAt: fc.option(fc.integer({ min: 1, max: 47 })),
    data: fc.array(fc.array(fc.integer({ min: 0, max: 3_000_000 }), { minLength: n + 1, maxLength: n + 1 }), {
      minLength: 48,
      maxLength: 48,
    }),
    gaps: fc.array(fc.record({ meter: fc.nat(), at: fc.nat() }), { maxLength: 6 }),
  }),
);

describe('billing sums are cent-exact for random communities, tariffs and gaps (fast-check)', () => {
  it('bill = Σ lines; Σ grid lines = grid invoice; Σ solar lines = solar revenue; energy conserved', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const units = Array.from({ length: s.n }, (_, i) => `u${i}`);
        const tariff = (version: string, from: string, p: typeof s.prices) => ({
          version,
          validFrom: from,
          solar: { variant: 'flat-80', price: p.solar, referencePrice: '5' },
          grid: {
            zones: [
              {
                name: 'peak',
                price: p.peak,
                windows: [{ days: [1, 2, 3, 4, 5], from: '21:00', to: '23:00' }],
              },
              { name: 'off-peak', price: p.off },
            ],
          },
          feedIn: { price: p.feed },
          fees: [{ name: 'Metering', perMonth: (s.fee / 100).toFixed(2) }],
          vatPercent: s.vat,
        });
        const tariffs = [tariff('v1', '2026-01-01', s.prices)];
        if (s.secondTariffAt !== null && s.secondTariffAt < s.T)
          tariffs.push(
            tariff('v2', new Date(START + s.secondTariffAt * Q).toISOString(), {
              ...s.prices,
              off: s.prices.peak,
            }),
          );
        const moveAt =
          s.moveAt !== null && s.moveAt < s.T ? new Date(START + s.moveAt * Q).toISOString() : undefined;
        const totalShares = s.shares.reduce((a, b) => a + b, 0) || 1;
        const config = CommunitySchema.parse({
          id: 'prop',
          name: 'Property test',
          timezone: 'Europe/Zurich',
          currency: 'EUR',
          allocation: { method: s.method, hybridVariant: 'residual-demand' },
          gridMeter: 'grid',
          production: [{ meter: 'pv' }],
          units: units.map((id, i) => ({
            id,
            name: id,
            kind: 'apartment',
            meter: `m-${id}`,
            sharePercent: String(Math.floor((s.shares[i]! * 100) / Math.max(totalShares, 20))),
            owner: 'Owner',
          })),
          members: [
            {
              id: 'first',
              name: 'First',
              unit: 'u0',
              role: 'owner',
              from: '2026-01-01',
              ...(moveAt ? { to: moveAt } : {}),
            },
            ...(moveAt ? [{ id: 'second', name: 'Second', unit: 'u0', role: 'owner', from: moveAt }] : []),
          ],
          tariffs,
          feedInKey: [
            { party: 'A', percent: '33.3333' },
            { party: 'B', percent: '66.6667' },
          ],
        });
        const meters = ['pv', ...units.map((u) => `m-${u}`)];
        // Gaps only strictly inside the period and short, so they can be interpolated.
        const missing = new Set(
          s.gaps.map((g) => `${meters[g.meter % meters.length]}@${1 + (g.at % Math.max(1, s.T - 2))}`),
        );
        const rows = ['meter,start,kwh'];
        for (let t = 0; t < s.T; t++)
          meters.forEach((m, j) => {
            if (t > 0 && t < s.T - 1 && missing.has(`${m}@${t}`)) return;
            rows.push(`${m},${new Date(START + t * Q).toISOString()},${(s.data[t]![j]! / 1e6).toFixed(6)}`);
          });
        const billing = billPeriod(
          compileCommunity(config),
          { label: '2026-03', startMs: START, endMs: START + s.T * Q },
          parseReadingsCsv(rows.join('\n')),
        );
        const sumKind = (kind: string) =>
          billing.bills.reduce(
            (a, b) => a + b.lines.filter((l) => l.kind === kind).reduce((x, l) => x + l.amountMinor, 0),
            0,
          );
        for (const b of billing.bills) {
          expect(b.lines.reduce((a, l) => a + l.amountMinor, 0)).toBe(b.totalMinor);
          expect(b.netMinor + b.vatMinor).toBe(b.totalMinor);
          expect(b.energy.solarMwh + b.energy.gridMwh).toBe(b.energy.consumptionMwh);
        }
        expect(sumKind('grid')).toBe(billing.summary.gridInvoice.reduce((a, g) => a + g.amountMinor, 0));
        expect(sumKind('solar')).toBe(billing.summary.solarRevenueMinor);
        expect(billing.summary.billsTotalMinor).toBe(
          sumKind('grid') + sumKind('solar') + sumKind('fee') + sumKind('vat'),
        );
        expect(billing.bills.reduce((a, b) => a + b.energy.consumptionMwh, 0)).toBe(
          billing.summary.consumptionMwh,
        );
        expect(billing.summary.selfConsumedMwh + billing.summary.exportedMwh).toBe(
          billing.summary.productionMwh,
        );
        // A unit's fee is split exactly between the tenants who held it.
        const unitFee = (u: string) =>
          billing.bills
            .filter((b) => b.recipient.unit === u)
            .reduce(
              (a, b) => a + b.lines.filter((l) => l.kind === 'fee').reduce((x, l) => x + l.amountMinor, 0),
              0,
            );
        if (tariffs.length === 1) expect(unitFee('u0')).toBe(unitFee(units[units.length - 1]!));
      }),
      { numRuns: 150 },
    );
  });
});
