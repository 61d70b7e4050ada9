import type { Store } from '../store/index.js';
import type { Summary } from './billing.js';
import { type Checkpoint, type Entry, Ledger } from './chain.js';
import { type IssuedBill, runOf } from './issue.js';
import type { Keyring } from './keys.js';
import { checkpointProblem, printedCheckpoint, type SealBody, type SignedCheckpoint } from './seal.js';

/**
 * The bills and summaries in force, read back from the ledger for the API: a `bill_issued` or
 * `allocation_run` entry reversed by a later `correction` is left out, so a corrected period
 * shows only its new bills. Unit ids are the residents' grant refs, so a unit id names one
 * unit across all communities in a store (the latest bill decides its community).
 */
export interface BillHeader {
  id: string;
  community: string;
  period: string;
  unit: string;
  unitName: string;
  recipient: string;
  currency: 'CHF' | 'EUR';
  totalMinor: number;
  consumptionMwh: number;
  solarMwh: number;
  savingMinor: number;
}

export interface PeriodSummary {
  summary: Summary;
  method: string;
  checkpoint: Checkpoint;
}

export class BillBook {
  private constructor(readonly ledger: Ledger) {}

  static async open(store: Store, options: { keys?: Keyring } = {}): Promise<BillBook> {
    return new BillBook(await Ledger.open(store, options));
  }

  private async current(
    kind: 'bill_issued' | 'allocation_run',
    community?: string,
  ): Promise<Entry[] & { sealOf: Map<number, SealBody> }> {
    const params: unknown[] = [kind];
    let sql =
      "SELECT seq, community, kind, body, prev_hash, hash FROM ledger_entries WHERE kind IN ($1, 'correction', 'seal')";
    if (community) {
      params.push(community);
      sql += ' AND community = $2';
    }
    const rows = await this.ledger.db.query<{
      seq: string | number;
      community: string;
      kind: string;
      body: string;
      hash: string;
    }>(`${sql} ORDER BY seq`, params);
    const reversed = new Set(
      rows.rows
        .filter((r) => r.kind === 'correction')
        .flatMap((r) => JSON.parse(r.body).reverses as number[]),
    );
    // The signed checkpoint of each bill: the seal that lists it.
    const sealOf = new Map<number, SealBody>();
    for (const r of rows.rows)
      if (r.kind === 'seal') {
        const seal = JSON.parse(r.body) as SealBody;
        for (const b of seal.bills) if (!sealOf.has(b.seq)) sealOf.set(b.seq, seal);
      }
    const entries = rows.rows
      .filter((r) => r.kind === kind && !reversed.has(Number(r.seq)))
      .map((r) => ({ ...r, seq: Number(r.seq), kind, prevHash: '' }));
    return Object.assign(entries, { sealOf });
  }

  /** Bills in force, newest period first; filtered by community and/or unit. */
  async bills(filter: { community?: string; unit?: string } = {}): Promise<IssuedBill[]> {
    const out: IssuedBill[] = [];
    const current = await this.current('bill_issued', filter.community);
    for (const e of current) {
      const body = JSON.parse(e.body) as IssuedBill;
      const seal = current.sealOf.get(e.seq);
      const bill: IssuedBill = {
        ...body,
        run: runOf(body),
        checkpoint: seal ? printedCheckpoint(seal) : runOf(body),
        entry: { seq: e.seq, hash: e.hash },
      };
      if (filter.unit === undefined || bill.recipient.unit === filter.unit) out.push(bill);
    }
    return out.sort((a, b) =>
      a.period === b.period ? a.id.localeCompare(b.id) : a.period < b.period ? 1 : -1,
    );
  }

  async bill(id: string): Promise<IssuedBill | null> {
    return (await this.bills()).find((b) => b.id === id) ?? null;
  }

  /** The association's summary per billed period, newest first. */
  async summaries(community: string): Promise<PeriodSummary[]> {
    return (await this.current('allocation_run', community))
      .map((e) => {
        const body = JSON.parse(e.body) as { summary: Summary; method: string };
        return { summary: body.summary, method: body.method, checkpoint: { seq: e.seq, hash: e.hash } };
      })
      .sort((a, b) => (a.summary.period < b.summary.period ? 1 : -1));
  }

  /**
   * Is this bill in the community's ledger as issued? The whole chain is verified; the bill's
   * entry must be covered by a seal signed with one of the community's keys; a checkpoint the
   * resident copied from a printed bill must be that seal's. Says plainly what is wrong.
   */
  async verifyBill(id: string, printed?: Checkpoint): Promise<BillVerification> {
    const bill = await this.bill(id);
    if (!bill) return { ok: false, billId: id, problem: 'this bill is not in the ledger (or was corrected)' };
    const entries = await this.ledger.entries();
    const trusted = await this.ledger.keys.trusted();
    const base = { billId: id, entry: bill.entry.seq, entries: entries.length };
    const cp = bill.checkpoint;
    if (!('signature' in cp))
      return {
        ...base,
        ok: false,
        problem: 'this bill was issued before checkpoints were signed; it is not sealed yet',
      };
    const chain = await this.ledger.verify(cp, trusted);
    if (!chain.ok) return { ...base, ok: false, problem: `the ledger does not verify: ${chain.reason}` };
    if (printed && (printed.seq !== cp.seq || printed.hash !== cp.hash))
      return {
        ...base,
        ok: false,
        problem: `the checkpoint you entered (${printed.seq}) is not the one this bill was sealed with (${cp.seq})`,
      };
    const problem = checkpointProblem(bill.community, cp, trusted);
    if (problem) return { ...base, ok: false, problem };
    return {
      ...base,
      ok: true,
      checkpoint: cp,
      signedAt: cp.signedAt,
      keyId: cp.keyId,
      publicKey: cp.publicKey,
    };
  }

  async communityOfUnit(unit: string): Promise<string | null> {
    const bills = await this.bills({ unit });
    return bills.length > 0 ? bills.reduce((a, b) => (a.entry.seq > b.entry.seq ? a : b)).community : null;
  }
}

export type BillVerification =
  | {
      ok: true;
      billId: string;
      entry: number;
      entries: number;
      checkpoint: SignedCheckpoint;
      signedAt: string;
      keyId: string;
      publicKey: string;
    }
  | { ok: false; billId: string; entry?: number; entries?: number; problem: string };

export function billHeader(b: IssuedBill): BillHeader {
  return {
    id: b.id,
    community: b.community,
    period: b.period,
    unit: b.recipient.unit,
    unitName: b.recipient.unitName,
    recipient: b.recipient.name,
    currency: b.currency,
    totalMinor: b.totalMinor,
    consumptionMwh: b.energy.consumptionMwh,
    solarMwh: b.energy.solarMwh,
    savingMinor: b.savingMinor,
  };
}
