import { describe, expect, it } from 'vitest';
import { formatLocal, localMidnightUtc, monthPeriod } from './time.js';

const Q = 900_000;
const TZ = 'Europe/Zurich';

describe('local days and months in UTC', () => {
  it('the autumn clock change day has 100 quarter-hours and the spring one 92', () => {
    const autumn = localMidnightUtc(2026, 10, 26, TZ) - localMidnightUtc(2026, 10, 25, TZ);
    const spring = localMidnightUtc(2026, 3, 30, TZ) - localMidnightUtc(2026, 3, 29, TZ);
    expect(autumn / Q).toBe(100);
    expect(spring / Q).toBe(92);
  });

  it('October 2026 in Zurich has 31 × 96 + 4 quarter-hours and starts at 22:00 UTC the day before', () => {
    const p = monthPeriod('2026-10', TZ);
    expect(new Date(p.startMs).toISOString()).toBe('2026-09-30T22:00:00.000Z');
    expect((p.endMs - p.startMs) / Q).toBe(31 * 96 + 4);
    expect((monthPeriod('2026-03', TZ).endMs - monthPeriod('2026-03', TZ).startMs) / Q).toBe(2972);
  });

  it('shows the repeated hour of the autumn change twice in local time', () => {
    expect(formatLocal(Date.UTC(2026, 9, 25, 0, 15), TZ)).toBe('2026-10-25 02:15');
    expect(formatLocal(Date.UTC(2026, 9, 25, 1, 15), TZ)).toBe('2026-10-25 02:15');
  });

  it('rejects a period that is not a month', () => {
    expect(() => monthPeriod('2026-13', TZ)).toThrow(/not a month/);
  });
});
