import { z } from 'zod';
import { parseOrThrow } from '../model/index.js';
import type { Store } from '../store/index.js';
import { uplinkMigrations } from './outbox.js';

/** One solved re-plan as `gridflex worker` stores it and central reads it (`uplink_replans`). */
export const StoredReplanSchema = z.object({
  site: z.string().min(1),
  /** The pg-boss job id: the same on every delivery of one job. */
  jobId: z.string().min(1),
  requestedMs: z.number().int(),
  solvedMs: z.number().int(),
  /** The solver's status (`optimal`, `infeasible`, …). */
  status: z.string().min(1),
  /** The plan's cost; null when there is no plan. */
  objective: z.number().nullable(),
  /** What the solver found, as the worker wrote it (a JSON object). */
  solution: z.record(z.string(), z.unknown()),
});
export type StoredReplan = z.infer<typeof StoredReplanSchema>;

const RowSchema = z
  .object({
    site: z.string(),
    job_id: z.string(),
    requested_at: z.coerce.date(),
    solved_at: z.coerce.date(),
    status: z.string(),
    objective: z.number().nullable(),
    // jsonb arrives parsed from both drivers; accept text too.
    solution: z.unknown().transform((v) => (typeof v === 'string' ? JSON.parse(v) : v)),
  })
  .transform((r) => ({
    site: r.site,
    jobId: r.job_id,
    requestedMs: r.requested_at.getTime(),
    solvedMs: r.solved_at.getTime(),
    status: r.status,
    objective: r.objective,
    solution: r.solution,
  }))
  .pipe(StoredReplanSchema);

/**
 * The re-plans solved by the workers, one row per job. `save` is idempotent on (site, job id):
 * a job delivered again (its worker was killed after storing, before completing it) keeps the
 * row of its first solve and adds none.
 */
export class ReplanStore {
  private constructor(private readonly store: Store) {}

  static async open(store: Store): Promise<ReplanStore> {
    await store.migrate(await uplinkMigrations());
    return new ReplanStore(store);
  }

  /** Store one solved job; false when that job's row was already there. */
  async save(replan: StoredReplan): Promise<boolean> {
    const r = parseOrThrow(StoredReplanSchema, replan, `the re-plan of ${replan.site}`);
    const res = await this.store.db.query(
      `INSERT INTO uplink_replans (site, job_id, requested_at, solved_at, status, objective, solution)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (site, job_id) DO NOTHING`,
      [
        r.site,
        r.jobId,
        new Date(r.requestedMs),
        new Date(r.solvedMs),
        r.status,
        r.objective,
        JSON.stringify(r.solution),
      ],
    );
    return res.rowCount === 1;
  }

  /** The site's re-plan for its newest request (the last solved among equals), or null. */
  async latest(site: string): Promise<StoredReplan | null> {
    const res = await this.store.db.query(
      `SELECT site, job_id, requested_at, solved_at, status, objective, solution FROM uplink_replans
       WHERE site = $1 ORDER BY requested_at DESC, solved_at DESC, job_id DESC LIMIT 1`,
      [site],
    );
    const row = res.rows[0];
    return row === undefined ? null : parseOrThrow(RowSchema, row, `the stored re-plan of ${site}`);
  }
}
