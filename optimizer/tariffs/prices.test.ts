import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPT_ERRORS } from '../errors.js';
import { parseEntsoeA44 } from './entsoe.js';
import { tariffSlotPrices, versionAt } from './prices.js';
import { parseSiteTariff } from './schema.js';
import type { SpotPrice } from './spot.js';
import { swissBusinessTariff } from './tariffs.fixtures.js';

const tariff = parseSiteTariff(swissBusinessTariff);
const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const one = (startIso: string, slotMinutes = 15) =>
  tariffSlotPrices(tariff, { startMs: at(startIso), slots: 1, slotMinutes });

describe('tariff → per-slot prices', () => {
  it('prices each slot by the energy and grid-fee windows in force at its local start, VAT included', () => {
    // Monday 2 March 2026, 08:00 CET: energy high rate, grid fee day rate.
    expect(one('2026-03-02T07:00Z').import[0]).toBeCloseTo((0.28 + 0.09) * 1.081, 12);
    // 06:30 local: grid day rate (from 06:00) but energy still the low rate (from 07:00).
    expect(one('2026-03-02T05:30Z').import[0]).toBeCloseTo((0.2 + 0.09) * 1.081, 12);
    // Saturday: grid fees' window holds, energy's does not; Sunday: neither.
    expect(one('2026-03-07T07:00Z').import[0]).toBeCloseTo((0.2 + 0.09) * 1.081, 12);
    expect(one('2026-03-08T07:00Z').import[0]).toBeCloseTo((0.2 + 0.05) * 1.081, 12);
    // Feed-in carries no VAT.
    expect(one('2026-03-08T07:00Z').export[0]).toBe(0.08);
    // Summer time: 21:00 local is 19:00Z, out of the high-rate window.
    expect(one('2026-06-01T18:45Z').import[0]).toBeCloseTo((0.28 + 0.09) * 1.081, 12);
    expect(one('2026-06-01T19:00Z').import[0]).toBeCloseTo((0.2 + 0.09) * 1.081, 12);
  });

  it('switches version at the local midnight of validFrom, and refuses a time before the first', () => {
    expect(versionAt(tariff, at('2026-06-30T21:59Z')).validFrom).toBe('2026-01-01');
    expect(versionAt(tariff, at('2026-06-30T22:00Z')).validFrom).toBe('2026-07-01');
    expect(() => versionAt(tariff, at('2025-12-31T22:59Z'))).toThrow(
      expect.objectContaining({
        code: OPT_ERRORS.tariff,
        message: expect.stringContaining('no version in force on 2025-12-31'),
      }),
    );
    expect(() => one('2026-06-30T22:00Z')).toThrow(/spot-indexed: spot prices are needed/);
  });

  it('indexes energy and feed-in on spot prices, a night grid-fee window wrapping midnight', () => {
    const spot: SpotPrice[] = Array.from({ length: 24 }, (_, h) => ({
      startMs: at('2026-07-05T22:00Z') + h * H,
      endMs: at('2026-07-05T22:00Z') + (h + 1) * H,
      perKwh: h === 12 ? -0.05 : 0.1 + h / 1000,
      currency: 'CHF',
    }));
    const p = tariffSlotPrices(tariff, {
      startMs: at('2026-07-05T22:00Z'),
      slots: 24,
      slotMinutes: 60,
      spot,
    });
    // 00:00 local (night fee), 12:00 local (negative spot, day fee), 22:00 local (night again).
    expect(p.import[0]).toBeCloseTo((0.1 + 0.03 + 0.03) * 1.081, 12);
    expect(p.import[12]).toBeCloseTo((-0.05 + 0.03 + 0.05) * 1.081, 12);
    expect(p.import[22]).toBeCloseTo((0.122 + 0.03 + 0.03) * 1.081, 12);
    expect(p.export[12]).toBeCloseTo(-0.06, 12);
    expect(p.estimatedSpotSlots).toEqual([]);
    // A 36-hour horizon: tomorrow's prices are not out yet, so its slots repeat today's and say so.
    const long = tariffSlotPrices(tariff, {
      startMs: at('2026-07-05T22:00Z'),
      slots: 36,
      slotMinutes: 60,
      spot,
    });
    expect(long.estimatedSpotSlots).toEqual(Array.from({ length: 12 }, (_, i) => 24 + i));
    expect(long.import[24 + 11]).toBeCloseTo(long.import[11]!, 12);
  });

  it('prices quarter-hours and hours of the 92-slot clock-change day from the ENTSO-E document', () => {
    const fi = parseSiteTariff({
      id: 'helsinki-spot',
      currency: 'EUR',
      timezone: 'Europe/Helsinki',
      versions: [{ validFrom: '2026-01-01', energy: { kind: 'spot' }, feedIn: { kind: 'spot' } }],
    });
    const spot = parseEntsoeA44(
      readFileSync(new URL('./fixtures/entsoe-a44-fi-dst-a03.xml', import.meta.url), 'utf8'),
    );
    const q = tariffSlotPrices(fi, { startMs: at('2026-03-28T23:00Z'), slots: 92, slotMinutes: 15, spot });
    expect(q.import[8]).toBeCloseTo(-0.00001, 12);
    expect(q.import[91]).toBeCloseTo(0.09876, 12);
    const h = tariffSlotPrices(fi, { startMs: at('2026-03-28T23:00Z'), slots: 23, slotMinutes: 60, spot });
    expect(h.import[0]).toBeCloseTo((85.1 + 3 * 84.02) / 4000, 12);
    // A slot past the document with no price the day before either: an error naming the time.
    expect(() =>
      tariffSlotPrices(fi, { startMs: at('2026-03-28T23:00Z'), slots: 93, slotMinutes: 15, spot }),
    ).toThrow(
      expect.objectContaining({
        message: 'no spot price for 2026-03-29T22:00:00.000Z (slot 92) nor the day before',
      }),
    );
    expect(() =>
      tariffSlotPrices(tariff, { startMs: at('2026-07-05T22:00Z'), slots: 1, slotMinutes: 15, spot }),
    ).toThrow(/spot prices are in EUR, tariff bern-business in CHF/);
  });

  it('gives one demand-charge period per local billing month, with the month’s peak so far', () => {
    // 31 March 22:00 CEST to 1 April 02:00: 8 quarter-hours in March, 8 in April.
    const p = tariffSlotPrices(tariff, {
      startMs: at('2026-03-31T20:00Z'),
      slots: 16,
      slotMinutes: 15,
      peakSoFarKw: { '2026-03': 12.5 },
    });
    expect(p.peakPeriods).toEqual([
      { month: '2026-03', fromSlot: 0, toSlot: 8, chargePerKw: 8 * 1.081, soFarKw: 12.5 },
      { month: '2026-04', fromSlot: 8, toSlot: 16, chargePerKw: 8 * 1.081, soFarKw: 0 },
    ]);
  });

  it.each([
    [
      {
        ...swissBusinessTariff,
        versions: [swissBusinessTariff.versions[1]!, swissBusinessTariff.versions[0]!],
      },
      'tariff is invalid: versions[1].validFrom: must be after versions[0].validFrom (2026-07-01)',
    ],
    [
      {
        ...swissBusinessTariff,
        versions: [
          {
            validFrom: '2026-01-01',
            energy: { kind: 'timeOfUse', windows: [{ from: '7:00', to: '21:00', perKwh: 1 }] },
          },
        ],
      },
      'tariff is invalid: versions[0].energy.windows[0].from: expected HH:MM (00:00 … 24:00)',
    ],
    [{ ...swissBusinessTariff, timezone: 'Europe/Bern' }, 'tariff is invalid: timezone'],
    [
      {
        ...swissBusinessTariff,
        versions: [{ validFrom: '2026-13-01', energy: { kind: 'fixed', perKwh: 0.2 } }],
      },
      'versions[0].validFrom: expected YYYY-MM-DD',
    ],
  ])('refuses a bad tariff naming the field (%#)', (input, message) => {
    expect(() => parseSiteTariff(input)).toThrow(
      expect.objectContaining({ code: OPT_ERRORS.tariff, message: expect.stringContaining(message) }),
    );
  });
});
