import type { Quality } from '../model/index.js';
import type { GatewayPoint } from './config.js';

/** What happened to a write request. */
export type WriteOutcome =
  /** Written and read back equal. */
  | 'written'
  /** Written, but the read-back differs (or could not be read): reported, not retried. */
  | 'unverified'
  /** The safety layer did not send it (not allow-listed, out of range, rate-limited, bad input). */
  | 'refused'
  /** The device answered with a Modbus exception or OPC UA bad status. */
  | 'rejected'
  /** The device could not be reached; nothing is known to have been written. */
  | 'failed';

export interface WriteRequest {
  device: string;
  point: string;
  value: number;
  /** Who asked: a user, `optimizer`, `market`, `gateway` (heartbeat). */
  who: string;
  /** Why, in words a building manager understands. */
  why: string;
}

/** The audit record kept for every write and every refusal. */
export interface WriteRecord {
  ts: number;
  site: string;
  device: string;
  point: string;
  who: string;
  why: string;
  requested: number;
  /** The value sent (after clamping), or null when nothing was sent. */
  value: number | null;
  clamped: boolean;
  old: number | null;
  readBack: number | null;
  outcome: WriteOutcome;
  reason: string | null;
}

/** The record of a write refused before it reached any device (nothing sent, nothing read). */
export function refusedWrite(site: string, req: WriteRequest, reason: string, ts: number): WriteRecord {
  return {
    ts,
    site,
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
    reason,
  };
}

export type WriteDecision =
  | { allow: true; value: number; clamped: boolean }
  | { allow: false; reason: string };

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
  if (!point) return { allow: false, reason: 'no such point in the gateway configuration' };
  if (!point.writable)
    return { allow: false, reason: `point ${point.id} is not writable (not allow-listed)` };
  if (!Number.isFinite(value)) return { allow: false, reason: `${value} is not a number` };
  const min = point.min!;
  const max = point.max!;
  let v = value;
  let clamped = false;
  if (value < min || value > max) {
    if (point.outOfRange !== 'clamp')
      return { allow: false, reason: `${value} is outside the allowed range ${min} to ${max}` };
    v = Math.min(max, Math.max(min, value));
    clamped = true;
  }
  if (lastWriteTs !== undefined && now - lastWriteTs < point.minWriteInterval)
    return {
      allow: false,
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
