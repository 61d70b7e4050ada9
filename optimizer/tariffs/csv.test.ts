import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPT_ERRORS } from '../errors.js';
import { parsePriceCsv } from './csv.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('day-ahead prices from CSV', () => {
  it('reads the clock-change night: two 02:00 local hours told apart by their offsets, per MWh to per kWh', () => {
    const text = readFileSync(new URL('./fixtures/day-ahead-ch.csv', import.meta.url), 'utf8');
    const p = parsePriceCsv(text, { currency: 'EUR', zone: '10YCH-SWISSGRIDZ' });
    expect(p.map((x) => iso(x.startMs))).toEqual([
      '2026-10-24T22:00:00.000Z',
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
    expect(p.map((x) => Math.round(x.perKwh * 1e8) / 1e8)).toEqual([
      0.0884, 0.08115, 0.07902, 0.0776, -0.0035, 0.074,
    ]);
    // Without an end column each interval runs to the next start; the last keeps the step.
    expect(iso(p[5]!.endMs)).toBe('2026-10-25T04:00:00.000Z');
    expect(p[0]).toMatchObject({ currency: 'EUR', zone: '10YCH-SWISSGRIDZ' });
  });

  it('reads semicolons with decimal commas and an end column, prices per kWh', () => {
    const p = parsePriceCsv('Start;End;Price_CHF_per_kWh\n2026-01-05T00:00Z;2026-01-05T00:15Z;0,125\n', {
      currency: 'CHF',
    });
    expect(p).toEqual([
      {
        startMs: Date.parse('2026-01-05T00:00Z'),
        endMs: Date.parse('2026-01-05T00:15Z'),
        perKwh: 0.125,
        currency: 'CHF',
      },
    ]);
  });

  it.each([
    [
      'a local time without offset',
      'start,price_eur_per_mwh\n2026-10-25T02:00,80\n',
      'line 2, start: expected an ISO 8601 time with an offset such as 2026-10-25T02:00+01:00, got "2026-10-25T02:00"',
    ],
    [
      'a price that is not a number',
      'start,price_eur_per_mwh\n2026-10-25T00:00Z,80\n2026-10-25T01:00Z,eighty\n',
      'line 3, price_eur_per_mwh: expected a number, got "eighty"',
    ],
    [
      'rows out of order',
      'start,price_eur_per_mwh\n2026-10-25T01:00Z,80\n2026-10-25T00:00Z,81\n',
      "line 3, start: must be after line 2's start",
    ],
    [
      'no price column',
      'start,price\n2026-10-25T01:00Z,80\n',
      'line 1: no price column ending in per_mwh or per_kwh (got start, price)',
    ],
    ['an empty file', '', 'line 1: missing header row'],
    [
      'a single row without end',
      'start,price_eur_per_mwh\n2026-10-25T01:00Z,80\n',
      'line 2, end: a single row needs an end column',
    ],
  ])('refuses %s, naming line and column', (_label, text, message) => {
    expect(() => parsePriceCsv(text, { currency: 'EUR' })).toThrow(
      expect.objectContaining({
        code: OPT_ERRORS.tariff,
        message: expect.stringContaining(`price CSV is invalid: ${message}`),
      }),
    );
  });
});
