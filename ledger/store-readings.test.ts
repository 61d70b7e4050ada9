import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { seriesFor } from './readings.js';
import { readingsFromStore } from './store-readings.js';

const Q = 900_000;
const T0 = Date.UTC(2026, 9, 1);

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`readings from the store on ${backend.name}`, () => {
    announceSkip(backend, 'ledger store readings');
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.readings.describePoints([{ key: 'zev/flat-a/energy', kind: 'energy_import', unit: 'Wh' }]);
      // A counter read every 5 minutes: +100 Wh per quarter-hour, reset to 0 at 01:00.
      const batch = [];
      for (let i = 0; i <= 24; i++) {
        const ts = T0 + i * 300_000;
        const value = i < 12 ? 1000 + (i * 100) / 3 : ((i - 12) * 100) / 3;
        batch.push({ pointId: 'zev/flat-a/energy', ts, value, quality: 'good' as const });
      }
      await store.readings.ingest(batch);
    });
    afterAll(async () => store?.close());

    it('turns counter rises into 15-minute mWh and leaves the reset interval a gap', async () => {
      const b = await readingsFromStore(store, { 'm-A': 'zev/flat-a/energy' }, T0, T0 + 8 * Q);
      const m = b.meters.get('m-A')!;
      expect(m.get(T0 + Q)).toEqual([100_000, 0]);
      expect(m.get(T0 + 2 * Q)).toEqual([100_000, 0]);
      expect(m.has(T0 + 4 * Q)).toBe(false); // the counter fell from 1366.7 to 0
      expect(m.get(T0 + 5 * Q)).toEqual([100_000, 0]);
      const s = seriesFor(b, 'm-A', T0 + Q, T0 + 6 * Q);
      expect([...s.flags]).toEqual([0, 0, 0, 2, 0]);
      const again = await readingsFromStore(store, { 'm-A': 'zev/flat-a/energy' }, T0, T0 + 8 * Q);
      expect(again.sha256).toBe(b.sha256);
    });
  });
}
