import { z } from 'zod';
import { IdSchema } from './ids.js';

/**
 * The one write port: how any module (live optimiser, market, CLI, API) asks for a value on a
 * device point, and the record every write and every refusal leaves. The gateway's safety
 * layer implements it; the composition root routes it by site (and may put a write arbiter in
 * front). Typed once here so that gateway/, optimizer/, market/ and server/ need not import one
 * another to agree on it.
 */

/** What happened to a write request. */
export const WriteOutcomeSchema = z.enum([
  /** Written and read back equal. */
  'written',
  /** Written, but the read-back differs (or could not be read): reported, not retried. */
  'unverified',
  /** Not sent: the safety layer or an arbiter refused it (see `refusal`). */
  'refused',
  /** The device answered with a Modbus exception or OPC UA bad status. */
  'rejected',
  /** The device could not be reached; nothing is known to have been written. */
  'failed',
]);
export type WriteOutcome = z.infer<typeof WriteOutcomeSchema>;

/**
 * Why a write was refused (outcome `refused`), as a stable code callers branch on; `reason`
 * keeps the words for people. Codes, not message prefixes: a caller that retries only
 * `rate_limited` must not depend on how the gateway words it.
 */
export const WriteRefusalSchema = z.enum([
  /** No device of that id behind this port (or no running gateway polls it). */
  'no_such_device',
  /** The device has no point of that id. */
  'no_such_point',
  /** The point (or its register) is not allow-listed for writing. */
  'not_writable',
  /** The value is not a finite number. */
  'invalid_value',
  /** Outside the point's min/max and the point does not clamp. */
  'out_of_range',
  /** Sooner than the point's `minWriteInterval` after the last accepted write: ask again later. */
  'rate_limited',
  /** The rate limit could not be checked (the stored write log is unreachable). */
  'rate_limit_unknown',
  /** The gateway cannot encode the value for that register (scale factor, width). */
  'unsupported',
  /** Another writer holds the device (e.g. a running market activation). */
  'held',
]);
export type WriteRefusal = z.infer<typeof WriteRefusalSchema>;

export const WriteRequestSchema = z.object({
  site: IdSchema,
  device: IdSchema,
  point: IdSchema,
  value: z.number(),
  /** Who asked: a user, `optimizer`, `market`, `gateway` (heartbeat). */
  who: z.string().min(1),
  /** Why, in words a building manager understands. */
  why: z.string(),
});
export type WriteRequest = z.infer<typeof WriteRequestSchema>;

/** The audit record kept for every write and every refusal. */
export const WriteRecordSchema = z.object({
  ts: z.number().int().min(0),
  site: IdSchema,
  device: IdSchema,
  point: IdSchema,
  who: z.string(),
  why: z.string(),
  requested: z.number(),
  /** The value sent (after clamping), or null when nothing was sent. */
  value: z.number().nullable(),
  clamped: z.boolean(),
  old: z.number().nullable(),
  readBack: z.number().nullable(),
  outcome: WriteOutcomeSchema,
  /** Set exactly when `outcome` is `refused`. */
  refusal: WriteRefusalSchema.nullable(),
  reason: z.string().nullable(),
});
export type WriteRecord = z.infer<typeof WriteRecordSchema>;

/** The port: a write through the safety layer, always answered by a record (never a throw). */
export interface WritePort {
  write(req: WriteRequest): Promise<WriteRecord>;
  /**
   * Several writes at once, each decided by the same safety layer as `write` and answered by
   * its own record, in request order. A port may send them together (one OPC UA Write per
   * device); a caller whose writes must land in order (a battery's mode before its rates)
   * uses `write` for them.
   */
  writeMany?(reqs: WriteRequest[]): Promise<WriteRecord[]>;
}

/** The record of a write refused before it reached any device (nothing sent, nothing read). */
export function refusedWrite(
  req: WriteRequest,
  refusal: WriteRefusal,
  reason: string,
  ts: number,
): WriteRecord {
  return {
    ts,
    site: req.site,
    device: req.device,
    point: req.point,
    who: req.who,
    why: req.why,
    requested: req.value,
    value: null,
    clamped: false,
    old: null,
    readBack: null,
    outcome: 'refused',
    refusal,
    reason,
  };
}

/**
 * The refusal code of a record. Records from a gateway that predates `refusal` carry only the
 * words; those are classified here, in one place, until every producer sets the code.
 */
export function refusalOf(r: {
  outcome: string;
  refusal?: WriteRefusal | null;
  reason: string | null;
}): WriteRefusal | null {
  if (r.outcome !== 'refused') return null;
  if (r.refusal) return r.refusal;
  const why = r.reason ?? '';
  if (why.startsWith('rate-limited')) return 'rate_limited';
  if (why.startsWith('held by')) return 'held';
  if (why.startsWith('no device') || why.startsWith('no running gateway')) return 'no_such_device';
  if (why.startsWith('no such point')) return 'no_such_point';
  if (why.includes('not writable')) return 'not_writable';
  if (why.includes('outside the allowed range')) return 'out_of_range';
  if (why.includes('is not a number')) return 'invalid_value';
  if (why.startsWith('cannot check the rate limit')) return 'rate_limit_unknown';
  return 'unsupported';
}

/**
 * Whether the asset took the value: `ok`; `later` when the previous setpoint stands and the
 * next attempt may succeed (rate limit); `dropped` otherwise.
 */
export function writeVerdict(r: {
  outcome: string;
  refusal?: WriteRefusal | null;
  reason: string | null;
}): 'ok' | 'later' | 'dropped' {
  if (r.outcome === 'written') return 'ok';
  if (refusalOf(r) === 'rate_limited') return 'later';
  return 'dropped';
}

/**
 * What a caller of the port needs back; a full `WriteRecord` satisfies it. `refusal` is
 * optional here only until every producer sets it (read it through `refusalOf`).
 */
export type WriteResult = Pick<WriteRecord, 'outcome' | 'reason'> &
  Partial<Pick<WriteRecord, 'value' | 'refusal'>>;

/** The port as a function, as callers hold it (a gateway's `write`, the runtime's routing write). */
export type WriteFn = (req: WriteRequest) => Promise<WriteResult>;

/** The batch write as callers hold it: one result per request, in request order. */
export type WriteManyFn = (reqs: WriteRequest[]) => Promise<WriteResult[]>;
