/**
 * Device fail-safe as inverters and batteries implement it: a control written by the
 * controller holds only while it is refreshed (rewritten or a heartbeat) within `timeoutMs`;
 * then the device reverts to its default mode. Timeout 0 = never revert.
 */
export interface Watchdog {
  timeoutMs: number;
  /** Last refresh (sim time), or null when no control is active. */
  lastRefreshMs: number | null;
}

export function watchdog(timeoutMs: number): Watchdog {
  return { timeoutMs, lastRefreshMs: null };
}

export function refresh(w: Watchdog, nowMs: number): void {
  w.lastRefreshMs = nowMs;
}

/** True when a control was active and has not been refreshed in time. */
export function expired(w: Watchdog, nowMs: number): boolean {
  return w.lastRefreshMs !== null && w.timeoutMs > 0 && nowMs - w.lastRefreshMs > w.timeoutMs;
}
