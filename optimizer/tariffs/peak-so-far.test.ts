import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { monthPeakSoFar } from './peak-so-far.js';

const Q = 900_000;
const GRID = 'site/grid/power';
/** 1 March 2026, 00:00 in Zurich (CET) = 28 Feb 23:00Z. */
const MARCH = Date.parse('2026-02-28T23:00Z');
const NOW = MARCH + 10 * 96 * Q + 37 * Q + 5 * 60_000; // 11 March, 09:20 local

/** Three readings in a quarter-hour starting at `start`, with mean `kw`. */
const quarter = (start: number, kw: number): Reading[] =>
  [-1, 0, 1].map((d, i) => ({
    pointId: GRID,
    ts: start + (i + 0.5) * 300_000,
    value: (kw + d * 0.5) * 1000,
    quality: 'good',
  }));

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`the month's peak so far from the store on ${backend.name}`, () => {
    announceSkip(backend, 'optimizer peak so far');
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.readings.describePoints([{ key: GRID, kind: 'active_power', unit: 'W' }]);
      await store.readings.ingest([
        ...quarter(MARCH - 4 * Q, 40), // 28 Feb 23:00 local: February's peak, not March's
        ...quarter(MARCH, 6),
        ...quarter(MARCH + 200 * Q, 17.5), // 3 March 02:00 local
        ...quarter(MARCH + 300 * Q, -25), // exporting: never a peak
        ...quarter(MARCH + 961 * Q, 12),
        ...quarter(Math.floor(NOW / Q) * Q, 60), // the quarter still running at NOW
      ]);
    });
    afterAll(async () => store?.close());

    it('is the highest completed 15-minute mean of the local month', async () => {
      const p = await monthPeakSoFar(store.readings, [{ pointId: GRID, sign: 1 }], NOW, 'Europe/Zurich');
      expect(p.month).toBe('2026-03');
      expect(p.kw).toBeCloseTo(17.5, 9);
      expect(p.quarters).toBe(4);
      // Just after the month starts, nothing completed yet.
      expect(
        await monthPeakSoFar(store.readings, [{ pointId: GRID, sign: 1 }], MARCH + 60_000, 'Europe/Zurich'),
      ).toEqual({
        month: '2026-03',
        kw: 0,
        quarters: 0,
      });
    });
  });
}
