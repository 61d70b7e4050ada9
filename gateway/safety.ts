import {
  type WriteRequest as ModelWriteRequest,
  refusedWrite as modelRefusedWrite,
  type Quality,
  refusalOf,
  type WriteOutcome,
  type WriteRecord,
  type WriteRefusal,
} from '../model/index.js';
import type { GatewayPoint } from './config.js';

/**
 * The safety layer implements the model's one write port (model/write.ts): the request, the
 * record and the outcome and refusal codes are the model's, re-exported for existing callers.
 */
export type { WriteOutcome, WriteRecord, WriteRefusal };

/** A request to a gateway: the model's, with the site optional (a gateway serves one site). */
export type WriteRequest = Omit<ModelWriteRequest, 'site'> & { site?: string };

/**
 * The record of a write refused before it reached any device (nothing sent, nothing read).
 * Kept with the gateway's argument order for existing callers; without a `refusal` code the
 * model's `refusalOf` classifies the reason. New code: the model's `refusedWrite`.
 */
export function refusedWrite(
  site: string,
  req: WriteRequest,
  reason: string,
  ts: number,
  refusal?: WriteRefusal,
): WriteRecord {
  const code = refusal ?? refusalOf({ outcome: 'refused', reason }) ?? 'unsupported';
  return modelRefusedWrite({ ...req, site }, code, reason, ts);
}

export type WriteDecision =
  | { allow: true; value: number; clamped: boolean }
  | { allow: false; refusal: WriteRefusal; reason: string };

/**
 * The pure half of the safety layer: may `value` be written to `point` now? Only points
 * marked writable in the configuration, within min/max (refused, or clamped when the point
 * says `outOfRange: clamp`), no sooner than `minWriteInterval` after the last accepted write.
 */
export function decideWrite(
  point: GatewayPoint | undefined,
  value: number,
  now: number,
  lastWriteTs: number | undefined,
): WriteDecision {
  if (!point)
    return { allow: false, refusal: 'no_such_point', reason: 'no such point in the gateway configuration' };
  if (!point.writable)
    return {
      allow: false,
      refusal: 'not_writable',
      reason: `point ${point.id} is not writable (not allow-listed)`,
    };
  if (!Number.isFinite(value))
    return { allow: false, refusal: 'invalid_value', reason: `${value} is not a number` };
  const min = point.min!;
  const max = point.max!;
  let v = value;
  let clamped = false;
  if (value < min || value > max) {
    if (point.outOfRange !== 'clamp')
      return {
        allow: false,
        refusal: 'out_of_range',
        reason: `${value} is outside the allowed range ${min} to ${max}`,
      };
    v = Math.min(max, Math.max(min, value));
    clamped = true;
  }
  if (lastWriteTs !== undefined && now - lastWriteTs < point.minWriteInterval)
    return {
      allow: false,
      refusal: 'rate_limited',
      reason: `rate-limited: last write ${now - lastWriteTs} ms ago, at most one per ${point.minWriteInterval} ms`,
    };
  return { allow: true, value: v, clamped };
}

/** Read-back check: equal within the point's tolerance (and the register's resolution). */
export function verified(written: number, readBack: number | null, tolerance: number): boolean {
  return (
    readBack !== null && Math.abs(readBack - written) <= tolerance + 1e-9 * Math.max(1, Math.abs(written))
  );
}

export type { Quality };
