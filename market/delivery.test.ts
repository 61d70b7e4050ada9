import { describe, expect, it } from 'vitest';
import {
  type ActivationDeliveryInput,
  settlementCsv,
  settlementJson,
  settlementRows,
  siteDelivery,
} from './delivery.js';

const Q = 15 * 60_000;
const T = Date.UTC(2026, 10, 23, 10);
const mfrr: ActivationDeliveryInput = {
  activationId: 'act-1',
  productId: 'mfrr',
  direction: 'up',
  startMs: T,
  intervalMs: Q,
  sites: [
    // delivered 30, 55, 60, 60 against 60 asked
    { siteId: 'site-a', requestedKw: 60, baselineKw: [200, 200, 200, 200], meteredKw: [170, 145, 140, 140] },
    // delivered 40, 45, 30, 40 against 40 asked
    { siteId: 'site-b', requestedKw: 40, baselineKw: [100, 100, 100, 100], meteredKw: [60, 55, 70, 60] },
  ],
};

describe('delivery per site', () => {
  it('is baseline − metered for up, with shortfall counted per interval', () => {
    const d = siteDelivery(mfrr.sites[0]!, 'up', Q);
    expect(d.deliveredKw).toEqual([30, 55, 60, 60]);
    expect(d.deliveredKwh).toBeCloseTo(51.25, 9);
    expect(d.requestedKwh).toBe(60);
    expect(d.shortfallKwh).toBeCloseTo(8.75, 9);
    expect(d.meanDeliveredKw).toBeCloseTo(51.25, 9);
    expect(d.performanceRatio).toBeCloseTo(51.25 / 60, 9);
  });

  it('is metered − baseline for down', () => {
    const d = siteDelivery(
      { siteId: 's', requestedKw: 10, baselineKw: [5, 5], meteredKw: [15, 12] },
      'down',
      Q,
    );
    expect(d.deliveredKw).toEqual([10, 7]);
    expect(d.shortfallKwh).toBeCloseTo(0.75, 9);
  });

  it('refuses mismatched series', () => {
    expect(() =>
      siteDelivery({ siteId: 's', requestedKw: 1, baselineKw: [1], meteredKw: [] }, 'up', Q),
    ).toThrow(expect.objectContaining({ code: 'GFX_MARKET_METER_DATA' }));
  });
});

describe('settlement report', () => {
  const rows = settlementRows([mfrr]);

  it('has a row per site in integer Wh and a portfolio row that nets sites per interval', () => {
    expect(rows).toEqual([
      {
        activationId: 'act-1',
        productId: 'mfrr',
        siteId: 'site-a',
        start: '2026-11-23T10:00:00.000Z',
        end: '2026-11-23T11:00:00.000Z',
        requestedKw: 60,
        requestedWh: 60_000,
        baselineWh: 200_000,
        meteredWh: 148_750,
        deliveredWh: 51_250,
        shortfallWh: 8_750,
        performanceRatio: 0.8542,
      },
      {
        activationId: 'act-1',
        productId: 'mfrr',
        siteId: 'site-b',
        start: '2026-11-23T10:00:00.000Z',
        end: '2026-11-23T11:00:00.000Z',
        requestedKw: 40,
        requestedWh: 40_000,
        baselineWh: 100_000,
        meteredWh: 61_250,
        deliveredWh: 38_750,
        shortfallWh: 2_500,
        performanceRatio: 0.9688,
      },
      {
        activationId: 'act-1',
        productId: 'mfrr',
        siteId: 'portfolio',
        start: '2026-11-23T10:00:00.000Z',
        end: '2026-11-23T11:00:00.000Z',
        requestedKw: 100,
        requestedWh: 100_000,
        baselineWh: 300_000,
        meteredWh: 210_000,
        deliveredWh: 90_000,
        // intervals deliver 70, 100, 90, 100: site b's surplus in the second covers site a's gap
        shortfallWh: 10_000,
        performanceRatio: 0.9,
      },
    ]);
  });

  it('renders CSV with a header and quotes fields that need it', () => {
    const csv = settlementCsv(settlementRows([{ ...mfrr, activationId: 'act "1", retry' }]));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'activationId,productId,siteId,start,end,requestedKw,requestedWh,baselineWh,meteredWh,deliveredWh,shortfallWh,performanceRatio',
    );
    expect(lines[1]).toBe(
      '"act ""1"", retry",mfrr,site-a,2026-11-23T10:00:00.000Z,2026-11-23T11:00:00.000Z,60,60000,200000,148750,51250,8750,0.8542',
    );
    expect(lines).toHaveLength(5); // header, 3 rows, final empty after the last CRLF
  });

  it('renders JSON that reads back to the same rows', () => {
    expect(JSON.parse(settlementJson(rows)).rows).toEqual(rows);
  });
});
