import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPT_ERRORS } from '../errors.js';
import { parseEntsoeA44 } from './entsoe.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

describe('ENTSO-E A44 day-ahead prices', () => {
  it('reads the clock-change day of an A03 curve: 92 quarter-hours, left-out positions forward-filled', () => {
    const p = parseEntsoeA44(fixture('entsoe-a44-fi-dst-a03.xml'));
    expect(p).toHaveLength(92);
    const at = (pos: number) => p[pos - 1]!;
    expect(iso(at(1).startMs)).toBe('2026-03-28T23:00Z');
    expect(at(1).perKwh).toBeCloseTo(0.0851, 10);
    expect([3, 4].map((i) => at(i).perKwh * 1000)).toEqual([84.02, 84.02]);
    expect([5, 8].map((i) => at(i).perKwh * 1000)).toEqual([80, 80]);
    expect(iso(at(9).startMs)).toBe('2026-03-29T01:00Z');
    expect([9, 47].map((i) => at(i).perKwh * 1000)).toEqual([-0.01, -0.01]);
    expect([48, 56].map((i) => at(i).perKwh * 1000)).toEqual([-5.25, -5.25]);
    expect([57, 72].map((i) => at(i).perKwh * 1000)).toEqual([12.4, 12.4]);
    expect([73, 91].map((i) => at(i).perKwh * 1000)).toEqual([145.3, 145.3]);
    expect(iso(at(92).startMs)).toBe('2026-03-29T21:45Z');
    expect(at(92).perKwh * 1000).toBeCloseTo(98.76, 9);
    expect(iso(at(92).endMs)).toBe('2026-03-29T22:00Z');
    expect(at(1)).toMatchObject({ currency: 'EUR', zone: '10YFI-1--------U' });
    // Contiguous: each interval ends where the next starts.
    for (let i = 1; i < p.length; i++) expect(p[i]!.startMs).toBe(p[i - 1]!.endMs);
  });

  it('reads a 25-hour A01 day at PT60M (clock back) without losing the last hour', () => {
    const p = parseEntsoeA44(fixture('entsoe-a44-ch-fall-a01.xml'));
    expect(p).toHaveLength(25);
    expect(iso(p[0]!.startMs)).toBe('2026-10-24T22:00Z');
    expect(iso(p[24]!.startMs)).toBe('2026-10-25T22:00Z');
    expect(p[24]!.perKwh * 1000).toBeCloseTo(88.02, 9);
    expect(p[24]!.endMs - p[24]!.startMs).toBe(3_600_000);
    expect(p[0]!.zone).toBe('10YCH-SWISSGRIDZ');
  });

  it('keeps sequence 1 (SDAC) where sequence 2 (EXAA) covers the same quarter-hours, whatever their order', () => {
    const p = parseEntsoeA44(fixture('entsoe-a44-delu-sequences.xml'));
    expect(p).toHaveLength(16);
    expect(p.every((x) => x.sequence === 1)).toBe(true);
    expect(p.map((x) => Math.round(x.perKwh * 1000))).toEqual(Array.from({ length: 16 }, (_, i) => 100 + i));
  });

  it('merges an hourly and a quarter-hour series by time, the finer one winning where they overlap', () => {
    const p = parseEntsoeA44(fixture('entsoe-a44-mixed-resolution.xml'));
    expect(p.map((x) => [iso(x.startMs), (x.endMs - x.startMs) / 60_000, x.perKwh * 1000])).toEqual([
      ['2025-09-30T22:00Z', 60, 70],
      ['2025-09-30T23:00Z', 60, 60],
      ['2025-10-01T00:00Z', 15, 58],
      ['2025-10-01T00:15Z', 15, 58],
      ['2025-10-01T00:30Z', 15, 52.5],
      ['2025-10-01T00:45Z', 15, 52.5],
    ]);
  });

  it('turns an acknowledgement (sent with HTTP 200 when there is no data) into a price-source error with its reason', () => {
    expect(() => parseEntsoeA44(fixture('entsoe-ack-nodata.xml'))).toThrow(
      expect.objectContaining({
        code: OPT_ERRORS.priceSource,
        message: expect.stringMatching(/999 No matching data found/),
      }),
    );
  });

  const dst = fixture('entsoe-a44-fi-dst-a03.xml');
  it.each([
    [
      'a price that is not a number',
      dst.replace('<price.amount>80</price.amount>', '<price.amount>n/a</price.amount>'),
      'TimeSeries[0].Period[0].Point[2].price.amount: expected a number, got "n/a"',
    ],
    [
      'a position past the interval',
      dst.replace('<position>92</position>', '<position>96</position>'),
      'TimeSeries[0].Period[0].Point[7].position: expected 1 … 92 (the interval holds 92 × PT15M), got 96',
    ],
    [
      'a left-out position in an A01 curve',
      dst.replace('<curveType>A03</curveType>', '<curveType>A01</curveType>'),
      'TimeSeries[0].Period[0].Point: position 3 is missing (curveType A01 lists every position)',
    ],
    [
      'an unknown resolution',
      dst.replace('<resolution>PT15M</resolution>', '<resolution>PT5M</resolution>'),
      'TimeSeries[0].Period[0].resolution: expected PT15M, PT30M, PT60M or P1D, got "PT5M"',
    ],
    [
      'a time without a zone',
      dst.replace(
        '<start>2026-03-28T23:00Z</start><end>2026-03-29T22:00Z</end></timeInterval>\n      <resolution>',
        '<start>2026-03-28T23:00</start><end>2026-03-29T22:00Z</end></timeInterval>\n      <resolution>',
      ),
      'TimeSeries[0].Period[0].timeInterval.start: expected a UTC time such as 2026-03-28T23:00Z, got "2026-03-28T23:00"',
    ],
    [
      'prices per kWh',
      dst.replace('<price_Measure_Unit.name>MWH', '<price_Measure_Unit.name>KWH'),
      'TimeSeries[0].price_Measure_Unit.name: expected MWH, got "KWH"',
    ],
    [
      'a missing currency',
      dst.replace('<currency_Unit.name>EUR</currency_Unit.name>', ''),
      'TimeSeries[0].currency_Unit.name: missing',
    ],
    [
      'another document',
      '<?xml version="1.0"?><GL_MarketDocument><type>A65</type></GL_MarketDocument>',
      '(root): expected Publication_MarketDocument, got GL_MarketDocument',
    ],
    ['broken XML', dst.slice(0, 900), '(document): not well-formed XML'],
  ])('refuses %s, naming the element', (_label, xml, message) => {
    expect(() => parseEntsoeA44(xml)).toThrow(
      expect.objectContaining({
        code: OPT_ERRORS.tariff,
        message: expect.stringContaining(`ENTSO-E price document is invalid: ${message}`),
      }),
    );
  });
});
