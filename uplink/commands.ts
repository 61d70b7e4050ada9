import type { Store } from '../store/index.js';
import type { Command, CommandAck, CommandStatus } from './protocol.js';

export type Setpoints = NonNullable<Command['setpoints']>;

/** What the edge does with a command it accepts: writes through the gateway's safety layer. */
export interface CommandTarget {
  /** Write the setpoints; resolves with the values read back, or rejects with the refusal. */
  apply(setpoints: Setpoints, cmd: Command): Promise<Record<string, number | null>>;
  /** The lease ran out (validUntil passed with no newer command): go back to local safe behaviour. */
  fallback(cmd: Command): void;
}

/** The setpoints of a schedule command that hold at `now`, or null when no slot covers it. */
export function setpointsAt(cmd: Command, now: number): Setpoints | null {
  if (cmd.setpoints) return cmd.setpoints;
  const slot = cmd.schedule?.find((s) => s.from <= now && now < s.to);
  return slot ? slot.setpoints : null;
}

/**
 * Edge side of the command log. A command is applied only while `issuedAt ≤ now < validUntil`
 * and only if its `seq` is above the last one applied (a re-delivered or retained copy is
 * answered again, never re-applied). Its lease ends at `validUntil`: then `fallback` runs unless
 * a newer command replaced it. Every outcome is recorded in the edge's store.
 */
export class EdgeCommands {
  private lastSeq = 0;
  private lease: { cmd: Command; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly store: Store,
    private readonly site: string,
    private readonly target: CommandTarget,
    private readonly clock: () => number,
  ) {}

  async load(): Promise<void> {
    const r = await this.store.db.query<{ max: string | null }>(
      `SELECT max(seq)::text AS max FROM uplink_commands WHERE side = 'edge' AND site = $1 AND status = 'applied'`,
      [this.site],
    );
    this.lastSeq = Number(r.rows[0]?.max ?? 0);
  }

  /** Handle one command; returns the answer to publish on `…/cmdack`. */
  async handle(cmd: Command, edge: string): Promise<CommandAck> {
    const now = this.clock();
    const answer = (status: CommandStatus, extra: Partial<CommandAck> = {}): CommandAck => ({
      v: 1,
      edge,
      cmdId: cmd.cmdId,
      status,
      ts: now,
      ...extra,
    });
    const known = await this.store.db.query<{ status: string; reason: string | null }>(
      `SELECT status, reason FROM uplink_commands WHERE side = 'edge' AND site = $1 AND cmd_id = $2`,
      [this.site, cmd.cmdId],
    );
    const prior = known.rows[0];
    if (prior && prior.status !== 'received') {
      return answer(prior.status as CommandStatus, prior.reason ? { reason: prior.reason } : {});
    }
    let status: CommandStatus;
    let reason: string | undefined;
    let readback: Record<string, number | null> | undefined;
    const setpoints = setpointsAt(cmd, now);
    if (now >= cmd.validUntil) {
      status = 'expired';
      reason = `validUntil ${new Date(cmd.validUntil).toISOString()} passed before it could be applied`;
    } else if (cmd.seq <= this.lastSeq) {
      status = 'rejected';
      reason = `seq ${cmd.seq} is not newer than the applied ${this.lastSeq}`;
    } else if (setpoints === null) {
      status = 'rejected';
      reason = 'no schedule slot covers the present';
    } else {
      try {
        readback = await this.target.apply(setpoints, cmd);
        status = 'applied';
        this.lastSeq = cmd.seq;
        this.startLease(cmd);
      } catch (err) {
        status = 'rejected';
        reason = (err as Error).message.slice(0, 500);
      }
    }
    await this.store.db.query(
      `INSERT INTO uplink_commands (side, site, cmd_id, seq, issued_at, valid_until, body, status, reason, updated_ms)
       VALUES ('edge', $1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (side, site, cmd_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
         updated_ms = EXCLUDED.updated_ms`,
      [
        this.site,
        cmd.cmdId,
        cmd.seq,
        cmd.issuedAt,
        cmd.validUntil,
        JSON.stringify(cmd),
        status,
        reason ?? null,
        now,
      ],
    );
    return answer(status, { ...(reason ? { reason } : {}), ...(readback ? { readback } : {}) });
  }

  private startLease(cmd: Command): void {
    if (this.lease) clearTimeout(this.lease.timer);
    const delay = Math.max(0, cmd.validUntil - this.clock());
    const timer = setTimeout(() => {
      if (this.lease?.cmd !== cmd) return;
      this.lease = null;
      this.target.fallback(cmd);
    }, delay);
    timer.unref();
    this.lease = { cmd, timer };
  }

  /** The command whose lease holds, if any. */
  get active(): Command | null {
    return this.lease?.cmd ?? null;
  }

  close(): void {
    if (this.lease) clearTimeout(this.lease.timer);
    this.lease = null;
  }
}

export interface CentralCommandRow {
  site: string;
  cmdId: string;
  seq: number;
  validUntil: number;
  status: string;
  reason: string | null;
}

/**
 * Central side of the command log: what was sent to which site, and what each edge answered.
 * `expireOverdue` enforces deadlines: a command still unanswered (or only `received`) at its
 * `validUntil` is marked `expired`, whatever the edge says later.
 */
export class CentralCommandLog {
  constructor(private readonly store: Store) {}

  async nextSeq(site: string): Promise<number> {
    const r = await this.store.db.query<{ max: string | null }>(
      `SELECT max(seq)::text AS max FROM uplink_commands WHERE side = 'central' AND site = $1`,
      [site],
    );
    return Number(r.rows[0]?.max ?? 0) + 1;
  }

  async record(site: string, cmd: Command, now: number): Promise<void> {
    await this.store.db.query(
      `INSERT INTO uplink_commands (side, site, cmd_id, seq, issued_at, valid_until, body, status, updated_ms)
       VALUES ('central', $1, $2, $3, $4, $5, $6, 'sent', $7)`,
      [site, cmd.cmdId, cmd.seq, cmd.issuedAt, cmd.validUntil, JSON.stringify(cmd), now],
    );
  }

  async answer(site: string, ack: CommandAck, now: number): Promise<void> {
    // An answer after the deadline does not revive an expired command.
    await this.store.db.query(
      `UPDATE uplink_commands SET status = $3, reason = $4, updated_ms = $5
       WHERE side = 'central' AND site = $1 AND cmd_id = $2 AND status IN ('sent', 'received')`,
      [site, ack.cmdId, ack.status, ack.reason ?? null, now],
    );
  }

  async expireOverdue(now: number): Promise<number> {
    const r = await this.store.db.query(
      `UPDATE uplink_commands SET status = 'expired', reason = 'no answer before validUntil', updated_ms = $1
       WHERE side = 'central' AND status IN ('sent', 'received') AND valid_until <= $1`,
      [now],
    );
    return r.rowCount;
  }

  async get(site: string, cmdId: string): Promise<CentralCommandRow | null> {
    const r = await this.store.db.query<{
      seq: string;
      valid_until: string;
      status: string;
      reason: string | null;
    }>(
      `SELECT seq::text, valid_until::text, status, reason FROM uplink_commands
       WHERE side = 'central' AND site = $1 AND cmd_id = $2`,
      [site, cmdId],
    );
    const x = r.rows[0];
    return x
      ? {
          site,
          cmdId,
          seq: Number(x.seq),
          validUntil: Number(x.valid_until),
          status: x.status,
          reason: x.reason,
        }
      : null;
  }
}
