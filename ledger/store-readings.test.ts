import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { billPeriod } from './billing.js';
import { compileCommunity } from './community.js';
import { parseReadingsCsv, seriesFor } from './readings.js';
import { communityReadingsFromStore, readingsFromStore } from './store-readings.js';
import { exampleCommunity, exampleCsv } from './testing.js';

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

    it('bills the § 7.6 example from counter points exactly as from the same readings in CSV', async () => {
      const D0 = Date.UTC(2026, 10, 2); // a quiet Monday, a week away from the counters above
      const config = exampleCommunity({
        points: { pv: 'zev/pv/export', 'm-A': 'zev/a/import', 'm-B': 'zev/b/import', 'm-C': 'zev/c/import' },
      });
      const csv = parseReadingsCsv(exampleCsv(D0));
      const meters = Object.entries(config.points!);
      await store.readings.describePoints(
        meters.map(([, key]) => ({ key, kind: 'energy_import' as const, unit: 'Wh' })),
      );
      // Counters in Wh, each quarter-hour's last reading one second before it ends (a gateway
      // polling every second): the store's delta per bucket is then exactly that interval's energy.
      const rows = [];
      for (const [meter, key] of meters) {
        let counter = 5_000;
        const s = csv.meters.get(meter)!;
        for (let t = 0; t <= 4; t++) {
          rows.push({ pointId: key, ts: D0 + t * Q - 1000, value: counter, quality: 'good' as const });
          counter += (s.get(D0 + t * Q)?.[0] ?? 0) / 1000;
        }
      }
      await store.readings.ingest(rows);
      const period = { label: '2026-11-02', startMs: D0, endMs: D0 + 4 * Q };
      const fromStore = await communityReadingsFromStore(store, config, D0, D0 + 4 * Q);
      const community = compileCommunity(config);
      const a = billPeriod(community, period, fromStore);
      const b = billPeriod(community, period, csv);
      expect(a.bills.map((x) => [x.energy, x.totalMinor])).toEqual(
        b.bills.map((x) => [x.energy, x.totalMinor]),
      );
      expect(a.bills.map((x) => x.energy.solarMwh)).toEqual([3_666_667, 4_666_667, 8_666_666]);
    });

    it('names the billed meter that has no store point', async () => {
      const config = exampleCommunity({ points: { pv: 'zev/pv/export', 'm-A': 'zev/a/import' } });
      await expect(communityReadingsFromStore(store, config, T0, T0 + Q)).rejects.toThrow(
        /points: meter m-B, m-C of community zev-example has no store point/,
      );
    });
  });
}
