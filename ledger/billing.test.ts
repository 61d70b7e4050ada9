import { describe, expect, it } from 'vitest';
import { billPeriod } from './billing.js';
import { compileCommunity } from './community.js';
import { parseReadingsCsv } from './readings.js';
import { apportion, hashId } from './rounding.js';
import { exampleCommunity, exampleCsv } from './testing.js';

const START = Date.UTC(2026, 9, 1, 10);
const period = { label: '2026-10', startMs: START, endMs: START + 4 * 900_000 };
const solarLine = (b: { lines: { kind: string; amountMinor: number }[] }) =>
  b.lines.filter((l) => l.kind === 'solar').reduce((s, l) => s + l.amountMinor, 0);
const gridLine = (b: { lines: { kind: string; amountMinor: number }[] }) =>
  b.lines.filter((l) => l.kind === 'grid').reduce((s, l) => s + l.amountMinor, 0);

describe('money of the worked example, ledger.md § 7.7', () => {
  const billing = billPeriod(
    compileCommunity(exampleCommunity()),
    period,
    parseReadingsCsv(exampleCsv(START)),
  );

  it('charges solar at 24 Rp: A 0.88, B 1.12, C 2.08, and credits the producer 4.08', () => {
    expect(billing.bills.map(solarLine)).toEqual([88, 112, 208]);
    expect(billing.summary.solarRevenueMinor).toBe(408);
  });

  it('passes on the grid invoice of 4 kWh × 28.05 Rp = 1.12 exactly, never 1.11', () => {
    expect(billing.summary.gridInvoice).toEqual([
      { tariffVersion: '2026', zone: 'single', mWh: 4_000_000, amountMinor: 112 },
    ]);
    expect(billing.bills.map(gridLine).reduce((a, b) => a + b)).toBe(112);
    // The reference's split on its Wh figures (A 1333, B 333, C 2334 Wh): 37 / 9 / 66.
    expect(apportion(112n, [1333n, 333n, 2334n], ['A', 'B', 'C'].map(hashId))).toEqual([37n, 9n, 66n]);
  });

  it('every bill is the sum of its lines, and all bills the grid invoice plus solar revenue', () => {
    for (const b of billing.bills) expect(b.lines.reduce((s, l) => s + l.amountMinor, 0)).toBe(b.totalMinor);
    expect(billing.summary.billsTotalMinor).toBe(112 + 408);
  });

  it('exports 3 kWh and shows the saving against grid-only supply', () => {
    expect(billing.summary.exportedMwh).toBe(3_000_000);
    const a = billing.bills[0]!;
    expect(a.energy.consumptionMwh).toBe(5_000_000);
    expect(a.gridOnlyMinor).toBe(140); // 5 kWh × 28.05 = 140.25
    expect(a.savingMinor).toBe(140 - a.lines.reduce((s, l) => s + l.amountMinor, 0));
  });
});

describe('Swiss price cap', () => {
  it('passes at exactly 80 % without fees, and refuses the bill once a metering fee is added', () => {
    expect(() =>
      billPeriod(compileCommunity(exampleCommunity()), period, parseReadingsCsv(exampleCsv(START))),
    ).not.toThrow();
    const withFee = exampleCommunity();
    withFee.tariffs[0]!.fees = [{ name: 'Metering', perMonth: '4.50', per: 'unit' }];
    expect(() => billPeriod(compileCommunity(withFee), period, parseReadingsCsv(exampleCsv(START)))).toThrow(
      /Tenant A \(Flat A\) would break the Swiss solar price cap/,
    );
  });

  it('allows an effective-cost price up to k + half the saving', () => {
    const cfg = exampleCommunity();
    cfg.tariffs[0]!.solar = {
      variant: 'effective-cost',
      price: '0.23',
      referencePrice: '0.30',
      internalCost: '0.16',
    };
    expect(() =>
      billPeriod(compileCommunity(cfg), period, parseReadingsCsv(exampleCsv(START))),
    ).not.toThrow();
    cfg.tariffs[0]!.solar = {
      variant: 'effective-cost',
      price: '0.2301',
      referencePrice: '0.30',
      internalCost: '0.16',
    };
    expect(() => billPeriod(compileCommunity(cfg), period, parseReadingsCsv(exampleCsv(START)))).toThrow(
      /GFX|cap/,
    );
  });
});

describe('tenant change mid-period', () => {
  it('splits consumption at the interval and the monthly fee pro rata, summing exactly', () => {
    const cfg = exampleCommunity();
    cfg.tariffs[0]!.solar = { variant: 'flat-80', price: '0.01', referencePrice: '0.30' };
    cfg.tariffs[0]!.fees = [{ name: 'Metering', perMonth: '0.40', per: 'unit' }];
    const change = new Date(START + 2 * 900_000).toISOString();
    cfg.members = [
      { id: 'old', name: 'Old tenant', unit: 'A', role: 'tenant', from: '2026-01-01', to: change },
      { id: 'new', name: 'New tenant', unit: 'A', role: 'tenant', from: change },
      { id: 't-B', name: 'Tenant B', unit: 'B', role: 'tenant', from: '2026-01-01' },
    ];
    const billing = billPeriod(compileCommunity(cfg), period, parseReadingsCsv(exampleCsv(START)));
    const ids = billing.bills.map((b) => b.recipient.id);
    expect(ids).toEqual(['old', 'new', 't-B', 'C:vacant']);
    const [oldB, newB] = billing.bills;
    expect(oldB!.intervals).toBe(2);
    expect(newB!.energy.consumptionMwh).toBe(3_000_000);
    const fee = (b: typeof oldB) =>
      b!.lines.filter((l) => l.kind === 'fee').reduce((s, l) => s + l.amountMinor, 0);
    expect(fee(oldB) + fee(newB)).toBe(40);
    expect(fee(oldB)).toBe(20);
    expect(billing.bills[3]!.recipient.name).toBe('Owner AG');
  });
});

describe('versioned tariffs', () => {
  it('prices each interval with the version valid then and snapshots every version used into the bill', () => {
    const cfg = exampleCommunity();
    const v2 = {
      ...cfg.tariffs[0]!,
      version: '2026-q4',
      validFrom: new Date(START + 2 * 900_000).toISOString(),
    };
    v2.solar = { variant: 'flat-80', price: '0.10', referencePrice: '0.30' };
    cfg.tariffs = [v2, cfg.tariffs[0]!];
    const billing = billPeriod(compileCommunity(cfg), period, parseReadingsCsv(exampleCsv(START)));
    const a = billing.bills[0]!;
    expect(a.tariffs.map((t) => t.version)).toEqual(['2026', '2026-q4']);
    const solar = a.lines.filter((l) => l.kind === 'solar').map((l) => [l.tariffVersion, l.unitPrice]);
    expect(solar).toEqual([
      ['2026', '240000'],
      ['2026-q4', '100000'],
    ]);
    // An earlier period, billed again later, still uses only the version valid then.
    const early = billPeriod(
      compileCommunity(cfg),
      { label: '2026-10', startMs: START, endMs: START + 2 * 900_000 },
      parseReadingsCsv(exampleCsv(START)),
    );
    expect(early.bills[0]!.tariffs.map((t) => t.version)).toEqual(['2026']);
  });
});

describe('association summary', () => {
  it('shares feed-in revenue by the key and shows the grid meter residual', () => {
    const cfg = exampleCommunity();
    cfg.feedInKey = [
      { party: 'Owner AG', percent: '66.6667' },
      { party: 'Solar coop', percent: '33.3333' },
    ];
    const csv = `${exampleCsv(START)}${[0, 1, 2, 3].map((t) => `grid,${new Date(START + t * 900_000).toISOString()},${['0', '0', '1.2', '3'][t]}`).join('\n')}\n`;
    const s = billPeriod(compileCommunity(cfg), period, parseReadingsCsv(csv)).summary;
    // 3 kWh exported × 0.10 = 30 cents, split 20 / 10.
    expect(s.feedIn).toEqual([
      { party: 'Owner AG', amountMinor: 20 },
      { party: 'Solar coop', amountMinor: 10 },
    ]);
    expect(s.gridMeterMwh).toBe(4_200_000);
    expect(s.gridResidualMwh).toBe(200_000);
  });
});
