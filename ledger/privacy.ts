import type { Db } from '../store/index.js';
import type { Billing } from './billing.js';
import type { Community } from './community.js';
import { kwh } from './decimal.js';
import { Flag, QUARTER_MS } from './readings.js';
import type { Period } from './time.js';

/**
 * A household's 15-minute data are personal data: they show when people are at home. The
 * ledger keeps them beside the chain, one row per unit and billed run (`ledger_unit_profiles`),
 * so they can be deleted after retention without breaking the hash chain; the bills keep only
 * their monthly totals (and a daily chart). Who may see a unit's profile: its resident; the
 * board only while the resident's consent (`ledger_profile_consent`) says so. The HTTP layer
 * records every look by someone else in the audit log (server/routes/bills.ts).
 */
export interface UnitProfile {
  community: string;
  period: string;
  unit: string;
  /** The allocation run the values were billed in. */
  run: number;
  startMs: number;
  intervalMs: number;
  /** Per quarter-hour: consumption and solar share, integer mWh; quality flag (readings.ts `Flag`). */
  consumptionMwh: number[];
  solarMwh: number[];
  flags: number[];
}

export async function saveProfiles(
  db: Db,
  community: string,
  period: Period,
  run: number,
  c: Community,
  billing: Billing,
): Promise<void> {
  const units = c.config.units;
  const n = units.length;
  const { consumption, solar, flags, startMs } = billing.intervals;
  const T = consumption.length / n;
  for (let u = 0; u < n; u++) {
    const cons = new Array<number>(T);
    const sol = new Array<number>(T);
    const fl = new Array<number>(T);
    for (let t = 0; t < T; t++) {
      cons[t] = consumption[t * n + u]!;
      sol[t] = solar[t * n + u]!;
      fl[t] = flags[t * n + u]!;
    }
    await db.query(
      'INSERT INTO ledger_unit_profiles (community, period, unit, run_seq, start_ms, consumption, solar, flags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING',
      [
        community,
        period.label,
        units[u]!.id,
        run,
        startMs,
        JSON.stringify(cons),
        JSON.stringify(sol),
        JSON.stringify(fl),
      ],
    );
  }
}

interface ProfileRow {
  community: string;
  period: string;
  unit: string;
  run_seq: string | number;
  start_ms: string | number;
  consumption: string;
  solar: string;
  flags: string;
}

/** The periods a unit has profiles for, newest first (from the latest run of each period). */
export async function profilePeriods(db: Db, unit: string): Promise<string[]> {
  const r = await db.query<{ period: string }>(
    'SELECT DISTINCT period FROM ledger_unit_profiles WHERE unit = $1 ORDER BY period DESC',
    [unit],
  );
  return r.rows.map((x) => x.period);
}

/** A unit's profile for a period as last billed (a correction's run replaces the earlier one). */
export async function unitProfile(db: Db, unit: string, period: string): Promise<UnitProfile | null> {
  const r = await db.query<ProfileRow>(
    'SELECT * FROM ledger_unit_profiles WHERE unit = $1 AND period = $2 ORDER BY run_seq DESC LIMIT 1',
    [unit, period],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    community: row.community,
    period: row.period,
    unit: row.unit,
    run: Number(row.run_seq),
    startMs: Number(row.start_ms),
    intervalMs: QUARTER_MS,
    consumptionMwh: JSON.parse(row.consumption),
    solarMwh: JSON.parse(row.solar),
    flags: JSON.parse(row.flags),
  };
}

const QUALITY = ['measured', 'estimated-by-source', 'estimated', 'clamped'];

/** The resident's export: one row per quarter-hour, kWh with 6 decimals, UTC start. */
export function profileCsv(p: UnitProfile): string {
  const rows = ['start_utc,consumption_kwh,solar_kwh,grid_kwh,quality'];
  for (let t = 0; t < p.consumptionMwh.length; t++) {
    const c = p.consumptionMwh[t]!;
    const s = p.solarMwh[t]!;
    rows.push(
      [
        new Date(p.startMs + t * p.intervalMs).toISOString(),
        kwh(c, 6),
        kwh(s, 6),
        kwh(c - s, 6),
        QUALITY[p.flags[t]!] ?? String(p.flags[t]),
      ].join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

export function profileJson(p: UnitProfile): string {
  return `${JSON.stringify(
    {
      ...p,
      units: { energy: 'mWh', interval: 'ms' },
      quality: Object.fromEntries(Object.entries(Flag).map(([k, v]) => [v, k])),
    },
    null,
    2,
  )}\n`;
}

export interface Consent {
  unit: string;
  boardMaySeeProfile: boolean;
  changedBy: string | null;
  changedAt: string | null;
}

/** The resident's choice; none recorded means no consent. */
export async function profileConsent(db: Db, unit: string): Promise<Consent> {
  const r = await db.query<{ board_may_see: boolean; changed_by: string | null; changed_at: Date }>(
    'SELECT board_may_see, changed_by, changed_at FROM ledger_profile_consent WHERE unit = $1',
    [unit],
  );
  const row = r.rows[0];
  return row
    ? {
        unit,
        boardMaySeeProfile: row.board_may_see,
        changedBy: row.changed_by,
        changedAt: new Date(row.changed_at).toISOString(),
      }
    : { unit, boardMaySeeProfile: false, changedBy: null, changedAt: null };
}

export async function setProfileConsent(db: Db, unit: string, allow: boolean, by: string): Promise<Consent> {
  await db.query(
    `INSERT INTO ledger_profile_consent (unit, board_may_see, changed_by, changed_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (unit) DO UPDATE SET board_may_see = EXCLUDED.board_may_see, changed_by = EXCLUDED.changed_by, changed_at = now()`,
    [unit, allow, by],
  );
  return profileConsent(db, unit);
}

/**
 * Erase a unit's stored 15-minute profiles (the resident's right to erasure): the bills and
 * the hash chain keep only the monthly totals, which the law requires for 10 years, so the
 * chain stays intact. Returns how many billed months' profiles were deleted.
 */
export async function eraseUnitProfiles(db: Db, unit: string): Promise<number> {
  const r = await db.query('DELETE FROM ledger_unit_profiles WHERE unit = $1', [unit]);
  return r.rowCount ?? 0;
}

/**
 * Retention: delete a community's stored profiles of every month before `period` (a label such
 * as 2026-10), once those months are billed and past the time to object. Returns the rows deleted.
 */
export async function eraseProfilesBefore(db: Db, community: string, period: string): Promise<number> {
  const r = await db.query('DELETE FROM ledger_unit_profiles WHERE community = $1 AND period < $2', [
    community,
    period,
  ]);
  return r.rowCount ?? 0;
}
