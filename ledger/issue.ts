import { GridflexError } from '../model/index.js';
import type { Db } from '../store/index.js';
import type { BatteryContent } from './battery.js';
import { type Bill, type Billing, billPeriod } from './billing.js';
import { canonicalJson, sha256 } from './canonical.js';
import type { Checkpoint, Entry, Ledger } from './chain.js';
import type { Community } from './community.js';
import type { ReadingsBatch } from './readings.js';
import type { Period } from './time.js';

/**
 * The billing workflow over the ledger, all in one transaction:
 * 1. `readings_accepted` for a file not seen before (same SHA-256 → nothing new: idempotent);
 * 2. bill the period (pure) and hash its inputs (config, period, every interval value and flag);
 * 3. the period was already billed with the same inputs → the issued bills are returned
 *    unchanged; with different inputs → refused (GFX_LEDGER_PERIOD_BILLED) unless `correct`,
 *    which appends a `correction` reversing each old bill, then the new run;
 * 4. `allocation_run` (input and output hashes), whose hash is the checkpoint printed on every
 *    bill, then one `bill_issued` per bill.
 */
export interface IssuedBill extends Bill {
  checkpoint: Checkpoint;
  /** The ledger entry holding this bill. */
  entry: Checkpoint;
}

export interface IssueResult {
  status: 'issued' | 'unchanged' | 'corrected';
  bills: IssuedBill[];
  billing: Billing;
  checkpoint: Checkpoint;
  inputHash: string;
}

function inputHash(c: Community, period: Period, b: Billing, opening: BatteryContent | undefined): string {
  const h = (a: Float64Array | Uint8Array) => sha256(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return sha256(
    canonicalJson({
      config: sha256(canonicalJson(c.config)),
      period: period.label,
      startMs: period.startMs,
      endMs: period.endMs,
      production: h(b.intervals.production),
      consumption: h(b.intervals.consumption),
      flags: h(b.intervals.flags),
      // Only when something carried over, so the hashes of earlier runs stay as they were.
      ...(opening && (opening.solarMwh > 0 || opening.gridMwh > 0) ? { batteryOpening: opening } : {}),
    }),
  );
}

interface RunBody {
  period: string;
  inputHash: string;
  /** Absent in runs written before the battery carry-over. */
  endMs?: number;
  summary: { battery?: { closing: BatteryContent } | null };
}

/**
 * The shared battery's content at the start of `period`: the closing content of the run in
 * force for the period that ended when this one starts. None (empty) for the first period, or
 * when that period was never billed.
 */
function carriedBattery(existing: readonly Entry[], period: Period): BatteryContent | undefined {
  const reversed = new Set(
    existing.filter((e) => e.kind === 'correction').flatMap((e) => JSON.parse(e.body).reverses as number[]),
  );
  let found: BatteryContent | undefined;
  for (const e of existing) {
    if (e.kind !== 'allocation_run' || reversed.has(e.seq)) continue;
    const body = JSON.parse(e.body) as RunBody;
    if (body.endMs === period.startMs && body.summary.battery) found = body.summary.battery.closing;
  }
  return found;
}

export async function issueBills(
  ledger: Ledger,
  community: Community,
  period: Period,
  batch: ReadingsBatch,
  options: { correct?: boolean; reason?: string } = {},
): Promise<IssueResult> {
  const id = community.config.id;
  const opening = community.config.battery ? carriedBattery(await ledger.entries(id), period) : undefined;
  const billing = billPeriod(community, period, batch, { batteryOpening: opening });
  const hash = inputHash(community, period, billing, opening);
  return ledger.db.transaction(async (tx: Db) => {
    const existing = await ledger.entries(id, tx);
    if (!existing.some((e) => e.kind === 'readings_accepted' && JSON.parse(e.body).sha256 === batch.sha256))
      await ledger.append(
        id,
        'readings_accepted',
        {
          sha256: batch.sha256,
          rows: batch.rows,
          duplicates: batch.duplicates,
          clamped: batch.clamped,
          meters: [...batch.meters.keys()].sort(),
        },
        tx,
      );
    const reversed = new Set(
      existing.filter((e) => e.kind === 'correction').flatMap((e) => JSON.parse(e.body).reverses as number[]),
    );
    const runs = existing.filter(
      (e) =>
        e.kind === 'allocation_run' &&
        (JSON.parse(e.body) as RunBody).period === period.label &&
        !reversed.has(e.seq),
    );
    const current = runs[runs.length - 1];
    let status: IssueResult['status'] = 'issued';
    if (current) {
      const prevBills = existing.filter(
        (e) =>
          e.kind === 'bill_issued' &&
          JSON.parse(e.body).checkpoint.seq === current.seq &&
          !reversed.has(e.seq),
      );
      if ((JSON.parse(current.body) as RunBody).inputHash === hash)
        return {
          status: 'unchanged',
          bills: prevBills.map((e) => ({
            ...(JSON.parse(e.body) as IssuedBill),
            entry: { seq: e.seq, hash: e.hash },
          })),
          billing,
          checkpoint: { seq: current.seq, hash: current.hash },
          inputHash: hash,
        };
      if (!options.correct)
        throw new GridflexError(
          'GFX_LEDGER_PERIOD_BILLED',
          `${period.label} was billed (ledger entry ${current.seq}) from other readings; the issued bills stay as they are. Issue a correction (gridflex bill --correct) to reverse them and bill again`,
          { status: 409, details: { run: current.seq } },
        );
      await ledger.append(
        id,
        'correction',
        {
          period: period.label,
          reverses: [current.seq, ...prevBills.map((e: Entry) => e.seq)],
          reason: options.reason ?? 'readings changed after billing',
          newInputHash: hash,
        },
        tx,
      );
      status = 'corrected';
    }
    const run = await ledger.append(
      id,
      'allocation_run',
      {
        period: period.label,
        startMs: period.startMs,
        endMs: period.endMs,
        method: community.config.allocation.method,
        hybridVariant: community.config.allocation.hybridVariant,
        inputHash: hash,
        outputHash: sha256(
          canonicalJson({
            solar: sha256(new Uint8Array(billing.intervals.solar.buffer)),
            bills: billing.bills.map((b) => b.totalMinor),
          }),
        ),
        summary: billing.summary,
      },
      tx,
    );
    const checkpoint = { seq: run.seq, hash: run.hash };
    const bills: IssuedBill[] = [];
    for (const bill of billing.bills) {
      const body = { ...bill, checkpoint };
      const e = await ledger.append(id, 'bill_issued', body, tx);
      bills.push({ ...body, entry: { seq: e.seq, hash: e.hash } });
    }
    return { status, bills, billing, checkpoint, inputHash: hash };
  });
}
