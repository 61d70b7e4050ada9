import type { CommunityConfig } from '../ledger/index.js';
import { eraseUnitProfiles } from '../ledger/privacy.js';
import type { Store } from '../store/index.js';
import { rollupTablesOf } from './retention.js';

/** What a resident's erasure request deleted, and what had to stay. */
export interface ErasureReport {
  unit: string;
  /** Billed months whose 15-minute profiles were deleted from beside the ledger. */
  profiles: number;
  /** Raw readings and rollup rows of the flat's meter before `billedUntilMs`. */
  readings: number;
  rollups: number;
  /** Data after this instant is kept until it is billed (the bill needs it), then retention removes it. */
  keptFromMs: number | null;
}

/**
 * A resident's right to erasure (PRIVACY.md): the flat meter's interval data that billing no
 * longer needs — its raw readings and rollups up to the end of what is billed, and the
 * profiles stored beside the ledger — are deleted. The bills' monthly totals stay (a business
 * record, kept 10 years) and so do readings not yet billed. A meter the configuration
 * declares a building device is not the household's alone and is left alone.
 */
export async function eraseHouseholdData(
  store: Store,
  communities: readonly CommunityConfig[],
  unit: string,
  o: { billedUntilMs: number | undefined; buildingDevices?: readonly string[] },
): Promise<ErasureReport> {
  const report: ErasureReport = {
    unit,
    profiles: 0,
    readings: 0,
    rollups: 0,
    keptFromMs: o.billedUntilMs ?? null,
  };
  const building = new Set(o.buildingDevices ?? []);
  const devices = new Set<string>();
  for (const c of communities)
    for (const u of c.units) {
      if (u.id !== unit || u.kind === 'common') continue;
      const key = c.points?.[u.meter];
      const device = key?.split('/').slice(0, 2).join('/');
      if (device && !building.has(device)) devices.add(device);
    }
  report.profiles = await eraseUnitProfiles(store.db, unit);
  if (o.billedUntilMs === undefined || devices.size === 0) return report;
  const patterns = [...devices].map((d) => `${d}/%`);
  const until = new Date(o.billedUntilMs).toISOString();
  const points = 'point_id IN (SELECT id FROM points WHERE key LIKE ANY($1::text[]))';
  report.readings =
    (await store.db.query(`DELETE FROM readings WHERE ${points} AND ts < $2`, [patterns, until])).rowCount ??
    0;
  for (const t of await rollupTablesOf(store))
    report.rollups +=
      (await store.db.query(`DELETE FROM ${t} WHERE ${points} AND bucket < $2`, [patterns, until]))
        .rowCount ?? 0;
  return report;
}
