import { GridflexError } from '../model/index.js';
import type { Db } from '../store/index.js';
import type { BatteryContent } from './battery.js';
import { type Bill, type Billing, billPeriod } from './billing.js';
import { canonicalJson, sha256 } from './canonical.js';
import type { Entry, Ledger } from './chain.js';
import type { Community } from './community.js';
import { LEDGER_ERRORS } from './errors.js';
import { saveProfiles } from './privacy.js';
import type { ReadingsBatch } from './readings.js';
import {
  billDigest,
  type Checkpoint,
  makeSeal,
  outputHash,
  printedCheckpoint,
  type SealBody,
  type SignedCheckpoint,
} from './seal.js';
import type { Period } from './time.js';

/**
 * The billing workflow over the ledger, all in one transaction:
 * 1. `readings_accepted` for a file not seen before (same SHA-256 → nothing new: idempotent);
 * 2. bill the period (pure) and hash its inputs (config, period, every interval value and flag);
 * 3. the period was already billed with the same inputs → the issued bills are returned
 *    unchanged; with different inputs → refused (GFX_LEDGER_PERIOD_BILLED) unless `correct`,
 *    which appends a `correction` reversing each old bill, then the new run;
 * 4. `allocation_run` (input hash; output hash over the solar allocation and each bill's
 *    digest, listed), then one `bill_issued` per bill (naming its run), then a `seal` signing
 *    the head (the last bill) with the community's key: that signed head is the checkpoint
 *    printed on every bill of the run, so it covers each of them (seal.ts).
 * The units' 15-minute profiles are stored beside the chain, not in it (privacy.ts).
 */
export interface IssuedBill extends Bill {
  /** The signed checkpoint covering this bill (legacy bills: their run's entry, unsigned). */
  checkpoint: Checkpoint | SignedCheckpoint;
  /** The allocation run that issued it. */
  run: Checkpoint;
  /** The ledger entry holding this bill. */
  entry: Checkpoint;
  /** Set when shown to someone the resident has not let see the daily profile (`daily` is then empty). */
  profileWithheld?: boolean;
}

export interface IssueResult {
  status: 'issued' | 'unchanged' | 'corrected';
  bills: IssuedBill[];
  billing: Billing;
  checkpoint: Checkpoint | SignedCheckpoint;
  inputHash: string;
}

/** A stored bill body: `run` since seals exist, `checkpoint` (the run) before. */
export function runOf(body: { run?: Checkpoint; checkpoint?: Checkpoint }): Checkpoint {
  return (body.run ?? body.checkpoint)!;
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
  options: { correct?: boolean; reason?: string; nowMs?: number } = {},
): Promise<IssueResult> {
  const signer = await ledger.keys.signer();
  const nowMs = options.nowMs ?? Date.now();
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
          e.kind === 'bill_issued' && runOf(JSON.parse(e.body)).seq === current.seq && !reversed.has(e.seq),
      );
      if ((JSON.parse(current.body) as RunBody).inputHash === hash) {
        let seal = existing
          .filter((e) => e.kind === 'seal' && (JSON.parse(e.body) as SealBody).run === current.seq)
          .map((e) => JSON.parse(e.body) as SealBody)[0];
        // A period billed before seals existed is sealed now: its head is signed as it stands.
        if (!seal && prevBills.length > 0) {
          const head = (await ledger.head(tx))!;
          seal = makeSeal(
            id,
            period.label,
            current.seq,
            prevBills.map((e) => ({ seq: e.seq, hash: e.hash })),
            head,
            signer,
            nowMs,
          );
          await ledger.append(id, 'seal', seal, tx);
        }
        const checkpoint = seal ? printedCheckpoint(seal) : { seq: current.seq, hash: current.hash };
        return {
          status: 'unchanged',
          bills: prevBills.map((e) => {
            const body = JSON.parse(e.body) as IssuedBill;
            return { ...body, run: runOf(body), checkpoint, entry: { seq: e.seq, hash: e.hash } };
          }),
          billing,
          checkpoint,
          inputHash: hash,
        };
      }
      if (!options.correct)
        throw new GridflexError(
          LEDGER_ERRORS.PERIOD_BILLED,
          `${period.label} was billed (ledger entry ${current.seq}) from other readings; the issued bills stay as they are. Issue a correction (gridflex bill --correct) to reverse them and bill again`,
          { kind: 'conflict', details: { run: current.seq } },
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
    const solarHash = sha256(new Uint8Array(billing.intervals.solar.buffer));
    const listing = billing.bills.map((b) => ({ id: b.id, sha256: billDigest(b) }));
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
        solarHash,
        bills: listing,
        outputHash: outputHash(solarHash, listing),
        summary: billing.summary,
      },
      tx,
    );
    const runRef = { seq: run.seq, hash: run.hash };
    const entries: Checkpoint[] = [];
    for (const bill of billing.bills) {
      const e = await ledger.append(id, 'bill_issued', { ...bill, run: runRef }, tx);
      entries.push({ seq: e.seq, hash: e.hash });
    }
    const head = entries[entries.length - 1] ?? runRef;
    const seal = makeSeal(id, period.label, run.seq, entries, head, signer, nowMs);
    await ledger.append(id, 'seal', seal, tx);
    const checkpoint = printedCheckpoint(seal);
    const bills: IssuedBill[] = billing.bills.map((bill, i) => ({
      ...bill,
      run: runRef,
      checkpoint,
      entry: entries[i]!,
    }));
    await saveProfiles(tx, id, period, run.seq, community, billing);
    return { status, bills, billing, checkpoint, inputHash: hash };
  });
}
