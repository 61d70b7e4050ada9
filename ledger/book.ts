import type { Store } from '../store/index.js';
import type { Summary } from './billing.js';
import { type Checkpoint, type Entry, Ledger } from './chain.js';
import type { IssuedBill } from './issue.js';

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

  static async open(store: Store): Promise<BillBook> {
    return new BillBook(await Ledger.open(store));
  }

  private async current(kind: 'bill_issued' | 'allocation_run', community?: string): Promise<Entry[]> {
    const params: unknown[] = [kind];
    let sql =
      "SELECT seq, community, kind, body, prev_hash, hash FROM ledger_entries WHERE kind IN ($1, 'correction')";
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
    return rows.rows
      .filter((r) => r.kind === kind && !reversed.has(Number(r.seq)))
      .map((r) => ({ ...r, seq: Number(r.seq), kind, prevHash: '' }));
  }

  /** Bills in force, newest period first; filtered by community and/or unit. */
  async bills(filter: { community?: string; unit?: string } = {}): Promise<IssuedBill[]> {
    const out: IssuedBill[] = [];
    for (const e of await this.current('bill_issued', filter.community)) {
      const bill = { ...(JSON.parse(e.body) as IssuedBill), entry: { seq: e.seq, hash: e.hash } };
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

  async communityOfUnit(unit: string): Promise<string | null> {
    const bills = await this.bills({ unit });
    return bills.length > 0 ? bills.reduce((a, b) => (a.entry.seq > b.entry.seq ? a : b)).community : null;
  }
}

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
