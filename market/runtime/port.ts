/**
 * The one thing the device side of the market needs from the gateway: a write through its
 * safety layer. `Gateway` (gateway/gateway.ts) satisfies it as it is; market/ does not import
 * gateway/ (the dependency rule keeps the core modules side by side), so the interface lives
 * here and the caller passes the gateway in.
 */
export interface SetpointPort {
  write(req: { device: string; point: string; value: number; who: string; why: string }): Promise<{
    outcome: 'written' | 'unverified' | 'refused' | 'rejected' | 'failed';
    reason: string | null;
  }>;
}

/**
 * Whether an outcome means the asset took the value. A refusal by the rate limit is not the
 * asset refusing: the previous setpoint stands and the next follow-up writes again
 * (gateway/safety.ts words that reason `rate-limited: …`).
 */
export function writeVerdict(r: { outcome: string; reason: string | null }): 'ok' | 'later' | 'dropped' {
  if (r.outcome === 'written') return 'ok';
  if (r.outcome === 'refused' && r.reason?.startsWith('rate-limited')) return 'later';
  return 'dropped';
}
