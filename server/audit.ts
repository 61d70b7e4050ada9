import type { Db } from '../store/index.js';

/**
 * One line of the audit log. Actions in use: `login`, `login_failed`, `logout`,
 * `user_added`, `token_created`, `token_revoked`; gateway, optimiser and market add
 * `setpoint_write`, `config_change`, `activation` when they land.
 */
export interface AuditEntry {
  /** Username, `cli:<os user>`, or a module name (`gateway`) for automatic actions. */
  actor: string | null;
  action: string;
  target?: string | null;
  outcome?: 'ok' | 'refused' | 'failed';
  ip?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'details'>> {
  id: number;
  ts: string;
  details: Record<string, unknown> | null;
}

/** What other modules are handed (by cli/runtime) to record what they did: a plain function. */
export type AuditAppend = (entry: AuditEntry) => Promise<void>;

/** Append-only audit log in the store's `audit_log` table. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  readonly append: AuditAppend = async (entry) => {
    await this.db.query(
      'INSERT INTO audit_log (actor, action, target, outcome, ip, details) VALUES ($1, $2, $3, $4, $5, $6)',
      [
        entry.actor,
        entry.action,
        entry.target ?? null,
        entry.outcome ?? 'ok',
        entry.ip ?? null,
        entry.details ? JSON.stringify(entry.details) : null,
      ],
    );
  };

  async recent(limit = 100): Promise<AuditRecord[]> {
    const res = await this.db.query<{
      id: string | number;
      ts: Date;
      actor: string | null;
      action: string;
      target: string | null;
      outcome: AuditRecord['outcome'];
      ip: string | null;
      details: Record<string, unknown> | string | null;
    }>(
      'SELECT id, ts, actor, action, target, outcome, ip, details FROM audit_log ORDER BY id DESC LIMIT $1',
      [limit],
    );
    return res.rows.map((r) => ({
      id: Number(r.id),
      ts: new Date(r.ts).toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      ip: r.ip,
      details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details,
    }));
  }
}
