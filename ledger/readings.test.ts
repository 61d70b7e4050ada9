import { describe, expect, it } from 'vitest';
import { Flag, parseReadingsCsv, registerDeltas, seriesFor } from './readings.js';

const T0 = Date.UTC(2026, 9, 1);
const Q = 900_000;
const row = (t: number, kwh: string, meter = 'm1') => `${meter},${new Date(T0 + t * Q).toISOString()},${kwh}`;
const csv = (...rows: string[]) => ['meter,start,kwh', ...rows].join('\n');

describe('CSV import of 15-minute readings', () => {
  it('reads kWh exactly into mWh, down to 0.00025 kWh', () => {
    const b = parseReadingsCsv(csv(row(0, '0.00025'), row(1, '12.345678')));
    expect(b.meters.get('m1')!.get(T0)).toEqual([250, Flag.measured]);
    expect(b.meters.get('m1')!.get(T0 + Q)).toEqual([12_345_678, Flag.measured]);
  });

  it('ignores identical duplicates, refuses contradicting ones, clamps and flags negatives', () => {
    const b = parseReadingsCsv(csv(row(0, '1'), row(0, '1.000'), row(1, '-0.2')));
    expect(b.duplicates).toBe(1);
    expect(b.clamped).toBe(1);
    expect(b.meters.get('m1')!.get(T0 + Q)).toEqual([0, Flag.clamped]);
    expect(() => parseReadingsCsv(csv(row(0, '1'), row(0, '2')))).toThrow(/line 3: .* contradicts itself/);
  });

  it('names the line of a bad timestamp or number', () => {
    expect(() => parseReadingsCsv(csv('m1,2026-10-01T00:07:00Z,1'))).toThrow(/line 2: .*quarter-hour/);
    expect(() => parseReadingsCsv(csv('m1,2026-10-01T00:00:00,1'))).toThrow(/needs an offset/);
    expect(() => parseReadingsCsv(csv(row(0, '1.0000001')))).toThrow(/line 2: .*more than 6 decimals/);
    expect(() => parseReadingsCsv('a,b\n')).toThrow(/meter,start,kwh/);
  });

  it('gives the same file the same hash, so a repeated import is recognised', () => {
    expect(parseReadingsCsv(csv(row(0, '1'))).sha256).toBe(parseReadingsCsv(csv(row(0, '1'))).sha256);
  });
});

describe('gap estimation', () => {
  it('interpolates a gap of up to 2 h linearly and flags it', () => {
    const b = parseReadingsCsv(csv(row(0, '1'), row(4, '2')));
    const s = seriesFor(b, 'm1', T0, T0 + 5 * Q);
    expect([...s.values]).toEqual([1_000_000, 1_250_000, 1_500_000, 1_750_000, 2_000_000]);
    expect([...s.flags]).toEqual([0, 2, 2, 2, 0]);
  });

  it('fills a longer gap from the same quarter-hour a week earlier', () => {
    const week = (7 * 24 * 3_600_000) / Q;
    const rows: string[] = [];
    for (let t = 10; t <= 30; t++) rows.push(row(t - week, '0.7'));
    for (let t = 0; t < 40; t++) if (t < 10 || t > 30) rows.push(row(t, '1'));
    const s = seriesFor(parseReadingsCsv(csv(...rows)), 'm1', T0, T0 + 40 * Q);
    expect(s.values[20]).toBe(700_000);
    expect(s.flags[20]).toBe(Flag.estimated);
  });

  it('never reads a gap as zero: without anything to estimate from, billing is refused', () => {
    const b = parseReadingsCsv(csv(row(0, '1')));
    expect(() => seriesFor(b, 'm1', T0, T0 + 20 * Q)).toThrow(
      /m1 has no reading for 2026-10-01T00:15:00.000Z/,
    );
  });
});

describe('register deltas (OBIS 1.8.0 / 2.8.0)', () => {
  it('derives 15-minute energy, bridges a rollover exactly and never differences across a reset', () => {
    const wrap = 100_000_000_000; // a 100,000 kWh register
    const r = registerDeltas(
      [
        { ms: T0, mWh: wrap - 300 },
        { ms: T0 + Q, mWh: wrap - 100 },
        { ms: T0 + 2 * Q, mWh: 400 },
        { ms: T0 + 3 * Q, mWh: 5 },
        { ms: T0 + 4 * Q, mWh: 105 },
      ],
      wrap,
    );
    expect(r.deltas.get(T0)).toBe(200);
    expect(r.deltas.get(T0 + Q)).toBe(500);
    expect(r.deltas.has(T0 + 2 * Q)).toBe(false);
    expect(r.deltas.get(T0 + 3 * Q)).toBe(100);
    expect(r.events).toEqual([
      { ms: T0 + Q, kind: 'rollover' },
      { ms: T0 + 2 * Q, kind: 'reset' },
    ]);
  });
});
