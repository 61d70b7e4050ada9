import { GridflexError } from '../model/index.js';

/** The uplink's error catalogue: stable codes, one place. */
export const UPLINK_ERRORS = {
  /** The broker refused the connection (bad credentials, not authorised) or is unreachable. */
  brokerUnavailable: 'GFX_UPLINK_BROKER',
  /** The broker refused a subscription (ACL): the credential is not allowed that topic. */
  subscribeRefused: 'GFX_UPLINK_SUBSCRIBE_REFUSED',
  /** pg-boss needs a PostgreSQL server; the embedded database cannot hold the job queue. */
  queueNeedsPostgres: 'GFX_UPLINK_QUEUE_NEEDS_POSTGRES',
  /** The queue refused a job: one with the same singleton key is already waiting. */
  jobRefused: 'GFX_UPLINK_JOB_REFUSED',
} as const;

export class UplinkError extends GridflexError {
  constructor(code: (typeof UPLINK_ERRORS)[keyof typeof UPLINK_ERRORS], message: string, cause?: unknown) {
    super(code, message, { kind: 'unavailable', cause });
  }
}
