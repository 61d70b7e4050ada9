import type { Observable, Subscription } from 'rxjs';
import type { SiteCommitment, WriteRecord, WriteRequest } from '../model/index.js';
import { refusalOf, refusedWrite } from '../model/index.js';
import type { CentralIngest, CommandAck, Obligations, SiteAddress } from '../uplink/index.js';

/**
 * Central's write port for a site served by an edge (uplink/PROTOCOL.md): each write becomes
 * a command to the edge, which applies it through its own safety layer and answers; the answer
 * becomes the write record, as a gateway's would. Commands carry a lease (`validUntil`): while
 * central runs it renews the lease of every site it has commanded with an empty command, so
 * the edge falls back to its configured safe values only when central is gone (or cannot reach
 * it) for a whole lease.
 */
export interface EdgeDispatchOptions {
  /** Sites served by an edge, by site id. */
  sites: ReadonlyMap<string, SiteAddress>;
  /** How long a command holds at the edge without renewal (default 60 s). */
  leaseMs?: number;
  /** How long a write waits for the edge's answer before it is reported failed (default 10 s). */
  answerMs?: number;
  clock?: () => number;
  say?: (line: string) => void;
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_ANSWER_MS = 10_000;

export class EdgeDispatch {
  private readonly leaseMs: number;
  private readonly answerMs: number;
  private readonly clock: () => number;
  /** Commands of a site are sent one at a time: their seq order is their arrival order. */
  private readonly sending = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, (ack: CommandAck) => void>();
  private readonly renewTimers = new Map<string, NodeJS.Timeout>();
  private readonly onAck = (ack: CommandAck) => this.waiting.get(ack.cmdId)?.(ack);
  private closed = false;

  constructor(
    private readonly ingest: CentralIngest,
    private readonly o: EdgeDispatchOptions,
  ) {
    this.leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    this.answerMs = o.answerMs ?? DEFAULT_ANSWER_MS;
    this.clock = o.clock ?? Date.now;
    ingest.on('cmdack', this.onAck);
  }

  serves(site: string): boolean {
    return this.o.sites.has(site);
  }

  /** Write one point of an edge-served site: send the command, wait for the edge's answer. */
  async write(site: string, req: WriteRequest): Promise<WriteRecord> {
    const addr = this.o.sites.get(site);
    const full = { ...req, site };
    if (!addr) return refusedWrite(full, 'no_such_device', 'no edge serves this site', this.clock());
    if (this.closed) return refusedWrite(full, 'no_such_device', 'central is stopping', this.clock());
    if (!Number.isFinite(req.value))
      return refusedWrite(full, 'invalid_value', `${req.value} is not a number`, this.clock());
    const key = `${req.device}/${req.point}`;
    const sent = this.clock();
    let cmdId: string;
    let validUntil: number;
    try {
      const cmd = await this.send(site, addr, [{ point: key, value: req.value }]);
      cmdId = cmd.cmdId;
      validUntil = cmd.validUntil;
    } catch (err) {
      return this.record(full, sent, 'failed', null, `could not send to the edge: ${(err as Error).message}`);
    }
    this.keepRenewing(site, addr);
    const ack = await this.answer(site, cmdId);
    if (!ack)
      return this.record(
        full,
        sent,
        'failed',
        null,
        `no answer from the edge within ${this.answerMs / 1000} s (command ${cmdId} stays valid until ${new Date(validUntil).toISOString()})`,
      );
    if (ack.status === 'applied')
      return this.record(full, sent, 'written', ack.readback?.[key] ?? null, null);
    // The edge words a refusal as `device/point: reason` (app/edge.ts): the reason is its safety layer's.
    const reason = (ack.reason ?? ack.status).replace(`${key}: `, '');
    if (ack.status === 'rejected') {
      const r = refusedWrite(full, refusalOf({ outcome: 'refused', reason }) ?? 'unsupported', reason, sent);
      return { ...r, reason: `edge: ${reason}` };
    }
    return this.record(full, sent, 'failed', null, `edge: ${reason}`);
  }

  private record(
    req: WriteRequest,
    ts: number,
    outcome: 'written' | 'failed',
    readBack: number | null,
    reason: string | null,
  ): WriteRecord {
    // The model's record of a request, with what the edge answered.
    return {
      ...refusedWrite(req, 'unsupported', '', ts),
      value: outcome === 'written' ? req.value : null,
      readBack,
      outcome,
      refusal: null,
      reason,
    };
  }

  private send(site: string, addr: SiteAddress, setpoints: { point: string; value: number }[]) {
    const prior = this.sending.get(site) ?? Promise.resolve();
    const next = prior
      .catch(() => undefined)
      .then(() => this.ingest.command(addr, { setpoints }, this.leaseMs));
    this.sending.set(site, next);
    return next;
  }

  /**
   * The edge's answer: by the cmdack event on this consumer, else (another consumer of the
   * shared subscription took it) from the command log when the wait ends.
   */
  private async answer(site: string, cmdId: string): Promise<CommandAck | null> {
    const ack = await new Promise<CommandAck | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cmdId);
        resolve(null);
      }, this.answerMs);
      this.waiting.set(cmdId, (a) => {
        if (a.status === 'received') return;
        clearTimeout(timer);
        this.waiting.delete(cmdId);
        resolve(a);
      });
    });
    if (ack) return ack;
    const row = await this.ingest.commands.get(site, cmdId).catch(() => null);
    if (!row || row.status === 'sent' || row.status === 'received') return null;
    return {
      v: 1,
      edge: '',
      cmdId,
      status: row.status as CommandAck['status'],
      ts: this.clock(),
      ...(row.reason ? { reason: row.reason } : {}),
    };
  }

  /** Renew the site's lease every third of it while central runs (an empty command). */
  private keepRenewing(site: string, addr: SiteAddress): void {
    if (this.renewTimers.has(site) || this.closed) return;
    const timer = setInterval(() => {
      this.send(site, addr, []).catch((err: Error) =>
        this.o.say?.(`uplink: lease renewal for ${site} not sent: ${err.message}`),
      );
    }, this.leaseMs / 3);
    timer.unref();
    this.renewTimers.set(site, timer);
  }

  /** Stop renewing: the edges fall back to their safe values when their leases end. */
  close(): void {
    this.closed = true;
    this.ingest.off('cmdack', this.onAck);
    for (const t of this.renewTimers.values()) clearInterval(t);
    this.renewTimers.clear();
  }
}

/** A site's sold capacity as the wire carries it to its edge (uplink/protocol.ts `ObligationsSchema`). */
export function wireObligations(list: readonly SiteCommitment[]): Obligations['obligations'] {
  return list.flatMap((c) =>
    c.reserve?.product
      ? [
          {
            id: c.id,
            product: c.reserve.product,
            startMs: c.startMs,
            endMs: c.endMs,
            upKw: c.reserve.upKw ?? 0,
            downKw: c.reserve.downKw ?? 0,
          },
        ]
      : [],
  );
}

/**
 * Keep an edge-served site's obligations published (retained) for its edge, which answers the
 * frequency products among them locally: at once and whenever they change.
 */
export function forwardObligations(
  ingest: CentralIngest,
  addr: SiteAddress,
  obligations$: Observable<readonly SiteCommitment[]>,
  say?: (line: string) => void,
): Subscription {
  return obligations$.subscribe((list) => {
    ingest
      .obligations(addr, wireObligations(list))
      .catch((err: Error) => say?.(`uplink: obligations of ${addr.site} not published: ${err.message}`));
  });
}
