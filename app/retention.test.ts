import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import { AuditLog, migrateServer } from '../server/index.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { DEFAULT_RETENTION, RetentionSchema, runRetention } from './retention.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2027, 0, 1);
const BILLED_UNTIL = Date.UTC(2026, 9, 1); // the last billed period ended on 1 October

/** One reading a day at noon, from `fromDays` days before NOW to one day before. */
const daily = (pointId: string, fromDays: number): Reading[] =>
  Array.from({ length: fromDays }, (_, i) => ({
    pointId,
    ts: NOW - (fromDays - i) * DAY + DAY / 2,
    value: i,
    quality: 'good' as const,
  }));

for (const backend of testBackends) {
  announceSkip(backend, 'retention');
  describe.skipIf(backend.skipReason)(`retention per data class (${backend.name})`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await migrateServer(store);
      await store.readings.describePoints([
        { key: 'bern/grid-meter/power', kind: 'active_power', unit: 'W' },
        { key: 'bern/flat-1-meter/energy', kind: 'energy_import', unit: 'Wh' },
      ] as never);
      await store.readings.ingest([
        ...daily('bern/grid-meter/power', 500),
        ...daily('bern/flat-1-meter/energy', 500),
      ]);
      // On TimescaleDB the rollups are continuous aggregates: materialise them, as the policy would.
      if (store.flavour === 'timescale')
        for (const view of ['readings_15m', 'readings_1h'])
          await store.db.exec(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
      const audit = new AuditLog(store.db);
      await audit.append({ actor: 'ada', action: 'login' });
      await store.db.query(`UPDATE audit_log SET ts = $1`, [new Date(NOW - 800 * DAY).toISOString()]);
      await audit.append({ actor: 'max', action: 'login' });
    }, 60_000);
    afterAll(async () => {
      await store?.close();
    });

    const oldest = async (key: string, table = 'readings', col = 'ts') =>
      (
        await store.db.query<{ t: Date | string | null }>(
          `SELECT min(${col}) AS t FROM ${table} WHERE point_id = (SELECT id FROM points WHERE key = $1)`,
          [key],
        )
      ).rows[0]?.t;

    it('deletes by class: household data after billing + 90 d, building raw after 400 d, audit after 2 years', async () => {
      const report = await runRetention(store, DEFAULT_RETENTION, NOW, {
        householdDevices: new Set(['bern/flat-1-meter']),
        billedUntilMs: BILLED_UNTIL,
      });
      // Household: nothing before min(billed until, now − 90 d) = 1 October 2026.
      const flat = new Date((await oldest('bern/flat-1-meter/energy'))!).getTime();
      expect(flat).toBeGreaterThanOrEqual(BILLED_UNTIL);
      expect(flat).toBeLessThan(BILLED_UNTIL + DAY);
      // Building raw readings: 400 days.
      const grid = new Date((await oldest('bern/grid-meter/power'))!).getTime();
      expect(grid).toBeGreaterThanOrEqual(NOW - 400 * DAY);
      expect(grid).toBeLessThan(NOW - 399 * DAY);
      expect(report.householdReadings).toBe(500 - 92); // 1 Oct … 31 Dec stay
      expect(report.rawReadings).toBe(100);
      expect(report.audit).toBe(1);
      {
        // The flat's rollups go with its raw data (on TimescaleDB from the aggregates'
        // materialisation); the building's stay (10 years).
        const flatRollup = new Date(
          (await oldest('bern/flat-1-meter/energy', 'readings_1h', 'bucket'))!,
        ).getTime();
        expect(flatRollup).toBeGreaterThanOrEqual(BILLED_UNTIL);
        const gridRollup = new Date(
          (await oldest('bern/grid-meter/power', 'readings_1h', 'bucket'))!,
        ).getTime();
        expect(gridRollup).toBeLessThan(NOW - 450 * DAY);
        expect(report.householdRollups).toBeGreaterThan(0);
      }
      const audit = await new AuditLog(store.db).recent(10);
      expect(audit.map((e) => e.actor)).toEqual(['max']);
      // A second run finds nothing more to delete.
      const again = await runRetention(store, DEFAULT_RETENTION, NOW, {
        householdDevices: new Set(['bern/flat-1-meter']),
        billedUntilMs: BILLED_UNTIL,
      });
      expect(again).toEqual({
        rawReadings: 0,
        rollups: 0,
        householdReadings: 0,
        householdRollups: 0,
        householdProfiles: 0,
        audit: 0,
      });
    });

    it('never deletes household data that is not billed yet, and reads its periods as durations', async () => {
      const short = RetentionSchema.parse({
        householdAfterBilling: '1d',
        rawReadings: '10000d',
        audit: '10000d',
      });
      const report = await runRetention(store, short, NOW, {
        householdDevices: new Set(['bern/flat-1-meter']),
      });
      expect(report.householdReadings).toBe(0);
    });
  });
}
