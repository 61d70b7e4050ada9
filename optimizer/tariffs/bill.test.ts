import { describe, expect, it } from 'vitest';
import { checkSchedule } from '../check.js';
import { SOLVERS } from '../index.js';
import { optimize } from '../optimize.js';
import { type ProblemInput, parseProblem } from '../problem.js';
import { billOf } from './bill.js';
import { tariffSlotPrices } from './prices.js';
import { parseSiteTariff } from './schema.js';
import { swissBusinessTariff } from './tariffs.fixtures.js';

const flat = parseSiteTariff({
  id: 'flat',
  currency: 'CHF',
  timezone: 'Europe/Zurich',
  versions: [
    {
      validFrom: '2026-01-01',
      energy: { kind: 'fixed', perKwh: 0.2 },
      gridFees: { otherPerKwh: 0.1 },
      peakCharge: { perKwMonth: 10 },
      feedIn: { kind: 'fixed', perKwh: 0.05 },
      vatPercent: 10,
    },
  ],
});

describe('the bill of a load profile under a tariff', () => {
  it('bills energy, grid fees, the highest 15-minute mean and VAT, and credits feed-in', () => {
    // One hour of 5-minute readings: 0.1 kWh each, but 0.5 kWh in the three of 10:15–10:30.
    const importKwh = Array.from({ length: 12 }, (_, i) => (i >= 3 && i < 6 ? 0.5 : 0.1));
    const exportKwh = [1, ...Array(11).fill(0)];
    const { months, total } = billOf(flat, {
      startMs: Date.parse('2026-05-04T08:00Z'),
      slotMinutes: 5,
      importKwh,
      exportKwh,
    });
    expect(months).toHaveLength(1);
    const m = months[0]!;
    expect(m.month).toBe('2026-05');
    expect(m.importKwh).toBeCloseTo(2.4, 12);
    expect(m.peakKw).toBeCloseTo(6, 12); // 1.5 kWh in a quarter-hour
    expect(m.energy).toBeCloseTo(0.48, 12);
    expect(m.gridFees).toBeCloseTo(0.24, 12);
    expect(m.peakCharge).toBeCloseTo(60, 12);
    expect(m.vat).toBeCloseTo(6.072, 12);
    expect(m.feedIn).toBeCloseTo(0.05, 12);
    expect(total).toBeCloseTo(66.742, 12);
  });

  it('bills each local month on its own peak, across the month’s end', () => {
    // 31 May 23:00 to 1 June 01:00 CEST in quarter-hours: 9 kW before midnight, 3 kW after.
    const importKwh = Array.from({ length: 8 }, (_, t) => (t < 4 ? 9 : 3) * 0.25);
    const { months } = billOf(flat, { startMs: Date.parse('2026-05-31T21:00Z'), slotMinutes: 15, importKwh });
    expect(months.map((m) => [m.month, m.peakKw, m.peakCharge])).toEqual([
      ['2026-05', 9, 90],
      ['2026-06', 3, 30],
    ]);
  });

  it('is what the optimiser minimises: the plan’s objective equals its bill, and the peak term lowers the bill', async () => {
    // A Monday in March on the Swiss business tariff, quarter-hours: a 14 kW machine 10:00–11:00.
    const startMs = Date.parse('2026-03-01T23:00Z');
    const T = 96;
    const tariff = parseSiteTariff(swissBusinessTariff);
    const prices = tariffSlotPrices(tariff, { startMs, slots: T, slotMinutes: 15 });
    const load = Array.from({ length: T }, (_, t) => (t >= 40 && t < 44 ? 14 : 4));
    const problem = (peak: boolean): ProblemInput => ({
      slotMinutes: 15,
      prices: { import: prices.import, export: prices.export },
      baseLoadKw: load,
      pvKw: Array(T).fill(0),
      ...(peak ? { peakPeriods: prices.peakPeriods.map(({ month: _, ...m }) => m) } : {}),
      assets: [
        {
          type: 'battery',
          id: 'b1',
          capacityKwh: 12,
          maxChargeKw: 6,
          maxDischargeKw: 6,
          initialKwh: 6,
          finalMinKwh: 6,
        },
      ],
    });
    const aware = parseProblem(problem(true));
    const r = await optimize(aware, SOLVERS.highs);
    const blind = await optimize(parseProblem(problem(false)), SOLVERS.highs);
    expect(r.status).toBe('optimal');
    expect(checkSchedule(aware, r.schedule!).violations).toEqual([]);
    const bill = (s: { importKw: number[]; exportKw: number[] }) =>
      billOf(tariff, {
        startMs,
        slotMinutes: 15,
        importKwh: s.importKw.map((kw) => kw * 0.25),
        exportKwh: s.exportKw.map((kw) => kw * 0.25),
      });
    const billed = bill(r.schedule!);
    expect(billed.total).toBeCloseTo(r.objective!, 6);
    expect(billed.months[0]!.peakKw).toBeLessThan(9);
    const blindBill = bill(blind.schedule!);
    expect(blindBill.months[0]!.peakKw).toBeCloseTo(14, 6);
    // At least 5 kW shaved at 8.648 per kW, less the battery's losses.
    expect(billed.total).toBeLessThan(blindBill.total - 40);
  });
});
