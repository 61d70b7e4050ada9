import { describe, expect, it } from 'vitest';
import { localDayStart, localHour, localMidnightUtc, localTime } from './local-time.js';

describe('local time of a site', () => {
  it('reads wall-clock fields in the zone', () => {
    expect(localTime(Date.parse('2026-01-15T04:30:15Z'), 'Europe/Zurich')).toEqual({
      year: 2026,
      month: 1,
      day: 15,
      hour: 5,
      minute: 30,
      second: 15,
      weekday: 4,
      date: '2026-01-15',
    });
    expect(localHour(Date.parse('2026-07-01T22:00:00Z'), 'Europe/Helsinki')).toBe(1);
  });

  it('finds local midnight across a DST change (a 23-hour and a 25-hour day)', () => {
    expect(localMidnightUtc(2026, 3, 29, 'Europe/Zurich')).toBe(Date.parse('2026-03-28T23:00:00Z'));
    expect(localMidnightUtc(2026, 3, 30, 'Europe/Zurich')).toBe(Date.parse('2026-03-29T22:00:00Z'));
    expect(localDayStart(Date.parse('2026-10-25T20:00:00Z'), 'Europe/Zurich')).toBe(
      Date.parse('2026-10-24T22:00:00Z'),
    );
  });
});
