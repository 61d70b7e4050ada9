import { z } from 'zod';
import {
  allocationCsv,
  type Checkpoint,
  CommunitySchema,
  communityReadingsFromStore,
  compileCommunity,
  type IssuedBill,
  type IssueResult,
  issueBills,
  KeyFolder,
  keyIdOf,
  Ledger,
  ledgerKeyDir,
  monthPeriod,
  parseReadingsCsv,
  parseSdatCh,
  type ReadingsBatch,
  type Summary,
  type VerifyResult,
} from '../ledger/index.js';
import type { Store } from '../store/index.js';

/**
 * `gridflex bill` and `gridflex ledger verify`, one implementation whether the CLI opened the
 * store itself or asks the running process over its control socket (control.ts). A request
 * carries data only: the community as parsed from its file and the readings' text. It names
 * no file and no folder, so the running process reads and writes none on a request's behalf
 * (the CLI writes the bills); the signing keys are always those of the data folder in use.
 */
const ReadingsSchema = z.discriminatedUnion('format', [
  z.strictObject({ format: z.literal('csv'), text: z.string() }),
  z.strictObject({
    format: z.literal('sdat-ch'),
    docs: z.array(z.strictObject({ name: z.string().min(1).max(255), text: z.string() })).min(1),
  }),
  /** The community's `points`, read from the store. */
  z.strictObject({ format: z.literal('store') }),
]);
export type ReadingsInput = z.infer<typeof ReadingsSchema>;

export const LedgerRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('bill'),
    community: CommunitySchema,
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month such as 2026-10'),
    readings: ReadingsSchema,
    correct: z.boolean(),
  }),
  z.strictObject({
    op: z.literal('verify'),
    checkpoint: z
      .strictObject({ seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/) })
      .optional(),
    publicKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'the community public key (43 characters)')
      .optional(),
  }),
]);
export type LedgerRequest = z.infer<typeof LedgerRequestSchema>;
export type BillRequest = Extract<LedgerRequest, { op: 'bill' }>;
export type VerifyRequest = Extract<LedgerRequest, { op: 'verify' }>;

/** What the CLI needs to write the bills: plain data (the allocation's typed arrays as CSV). */
export interface BillResult {
  op: 'bill';
  status: IssueResult['status'];
  checkpoint: Checkpoint;
  bills: IssuedBill[];
  summary: Summary;
  allocationCsv: string;
}
export type LedgerResult = BillResult | { op: 'verify'; result: VerifyResult };

/** The readings of a request, parsed (null: from the store, read when billing). */
export function readingsBatch(readings: ReadingsInput): ReadingsBatch | null {
  if (readings.format === 'csv') return parseReadingsCsv(readings.text);
  if (readings.format === 'sdat-ch') return parseSdatCh(readings.docs);
  return null;
}

const ledgerOf = (store: Store, dataDir: string) =>
  Ledger.open(store, { keys: new KeyFolder(ledgerKeyDir(dataDir)) });

/** Issue one month's bills into the ledger of `dataDir`'s keys; `batch` as `readingsBatch` made it. */
export async function billMonth(
  store: Store,
  dataDir: string,
  req: BillRequest,
  batch: ReadingsBatch | null,
): Promise<BillResult> {
  const community = compileCommunity(req.community);
  const period = monthPeriod(req.period, community.tz);
  const readings =
    batch ?? (await communityReadingsFromStore(store, req.community, period.startMs, period.endMs));
  const ledger = await ledgerOf(store, dataDir);
  const r = await issueBills(ledger, community, period, readings, { correct: req.correct });
  return {
    op: 'bill',
    status: r.status,
    checkpoint: r.checkpoint,
    bills: r.bills,
    summary: r.billing.summary,
    allocationCsv: allocationCsv(
      r.billing,
      req.community.units.map((u) => u.id),
      community.tz,
    ),
  };
}

/** Recompute the chain; trusting only `publicKey` when given, else the key folder of `dataDir`. */
export async function verifyLedger(store: Store, dataDir: string, req: VerifyRequest): Promise<VerifyResult> {
  const ledger = await ledgerOf(store, dataDir);
  const trusted = req.publicKey ? [{ keyId: keyIdOf(req.publicKey), publicKey: req.publicKey }] : undefined;
  return ledger.verify(req.checkpoint, trusted);
}

/** A ledger request as the control socket receives it. */
export async function manageLedger(store: Store, dataDir: string, req: LedgerRequest): Promise<LedgerResult> {
  if (req.op === 'verify') return { op: 'verify', result: await verifyLedger(store, dataDir, req) };
  return billMonth(store, dataDir, req, readingsBatch(req.readings));
}
