import { z } from 'zod';
import { DurationSchema } from '../model/index.js';
import type { Store } from '../store/index.js';

const DAY = 86_400_000;

/**
 * How long each class of data is kept (PRIVACY.md, "How long"). Defaults follow Swiss and EU
 * practice: business records (bills, the ledger) 10 years (OR Art. 958f, HGB § 257);
 * a household's interval data only as long as billing and disputes need them.
 */
export const RetentionSchema = z.object({
  /** Raw readings of building devices (grid meter, PV, battery, sub-meters). Default 400 d (13 months). */
  rawReadings: DurationSchema.default(400 * DAY),
  /** 15-minute and hourly rollups of building devices. Default 10 years. */
  rollups: DurationSchema.default(3650 * DAY),
  /**
   * A household meter's raw readings and rollups, counted from the end of the last billed
   * period: after it only the bill's monthly totals remain (in the ledger). Default 90 d (the
   * time to object to a bill), never before the data is billed.
   */
  householdAfterBilling: DurationSchema.default(90 * DAY),
  /** The audit log (logins, configuration changes, writes, looks at personal data). Default 2 years. */
  audit: DurationSchema.default(730 * DAY),
  /**
   * Bills and the ledger: 10 years. Documentary: the ledger is append-only and hash-chained,
   * so the job never deletes it; a community's chain is exported and dropped as a whole.
   */
  bills: DurationSchema.default(3650 * DAY),
});
export type Retention = z.infer<typeof RetentionSchema>;
export const DEFAULT_RETENTION: Retention = RetentionSchema.parse({});

export interface RetentionScope {
  /** Devices that measure one household (`site/device`, app/devices-privacy.ts `householdDevices`). */
  householdDevices?: ReadonlySet<string>;
  /**
   * The end of the last billed period (ms): household data after it is never deleted, as it is
   * not billed yet. Absent: household data is kept like building data.
   */
  billedUntilMs?: number;
}

/** Rows deleted per data class in one run. */
export interface RetentionReport {
  rawReadings: number;
  rollups: number;
  householdReadings: number;
  householdRollups: number;
  /** Months of flats' 15-minute profiles stored beside the ledger (app/retention-scheduler.ts). */
  householdProfiles: number;
  audit: number;
}

/**
 * One retention run: deletes what is past its class's period. Idempotent and cheap to repeat;
 * the composition root runs it daily (and at start). `now` is passed in (tests pin it).
 *
 * With TimescaleDB the rollups are continuous aggregates: a household's buckets are deleted
 * from their materialisation hypertables, building rollups follow the store's own policies.
 */
export async function runRetention(
  store: Store,
  retention: Retention,
  now: number,
  scope: RetentionScope = {},
): Promise<RetentionReport> {
  const db = store.db;
  const at = (ms: number) => new Date(ms).toISOString();
  const households = [...(scope.householdDevices ?? [])].map((d) => `${d}/%`);
  const householdCutoff =
    scope.billedUntilMs === undefined
      ? null
      : Math.min(scope.billedUntilMs, now - retention.householdAfterBilling);
  const rollupTables = store.flavour === 'timescale' ? [] : ['readings_15m', 'readings_1h'];
  const householdRollupTables = await rollupTablesOf(store);
  // Household points first (their shorter period), then every point by the general periods.
  const household = `point_id IN (SELECT id FROM points WHERE key LIKE ANY($1::text[]))`;
  const report: RetentionReport = {
    rawReadings: 0,
    rollups: 0,
    householdReadings: 0,
    householdRollups: 0,
    householdProfiles: 0,
    audit: 0,
  };
  if (householdCutoff !== null && households.length > 0) {
    report.householdReadings = await count(
      db.query(`DELETE FROM readings WHERE ${household} AND ts < $2`, [households, at(householdCutoff)]),
    );
    for (const t of householdRollupTables)
      report.householdRollups += await count(
        db.query(`DELETE FROM ${t} WHERE ${household} AND bucket < $2`, [households, at(householdCutoff)]),
      );
  }
  report.rawReadings = await count(
    db.query('DELETE FROM readings WHERE ts < $1', [at(now - retention.rawReadings)]),
  );
  for (const t of rollupTables)
    report.rollups += await count(
      db.query(`DELETE FROM ${t} WHERE bucket < $1`, [at(now - retention.rollups)]),
    );
  report.audit = await count(db.query('DELETE FROM audit_log WHERE ts < $1', [at(now - retention.audit)]));
  return report;
}

async function count(res: Promise<{ rowCount?: number | null }>): Promise<number> {
  return (await res).rowCount ?? 0;
}

/**
 * The tables holding a store's 15-minute and hourly rollups, to delete a household's buckets
 * from: the plain tables, or on TimescaleDB the continuous aggregates' materialisation
 * hypertables (a view cannot be deleted from).
 */
export async function rollupTablesOf(store: Store): Promise<string[]> {
  if (store.flavour !== 'timescale') return ['readings_15m', 'readings_1h'];
  const r = await store.db.query<{ s: string; n: string }>(
    `SELECT materialization_hypertable_schema AS s, materialization_hypertable_name AS n
       FROM timescaledb_information.continuous_aggregates
      WHERE view_name IN ('readings_15m', 'readings_1h')`,
  );
  return r.rows.map((x) => `"${x.s}"."${x.n}"`);
}
