/** Tunables of `LoginThrottle` (from `AuthSettings`). */
export interface ThrottleSettings {
  /** Failed logins per (username, client address) before that pair waits. */
  maxPerPair: number;
  /** Failed logins per client address, across usernames, within `windowMs`. */
  maxPerAddress: number;
  windowMs: number;
  /** The first wait of a pair; each further failure after it doubles the wait, up to `windowMs`. */
  backoffMs: number;
}

/**
 * Login attempts, counted BEFORE the password is hashed: `attempt` reserves the attempt as a
 * failure synchronously (no await between check and count), so 40 parallel guesses cannot all
 * pass a check that sees none of the others; `succeed` takes the reservation back.
 *
 * Throttled per (username, address) with back-off, and per address: a stranger guessing a
 * resident's password from elsewhere makes only their own pair wait, never the resident's.
 * A username alone is never locked (that would let anyone lock anyone out); slow hashing and
 * the per-address limit bound guessing instead (SECURITY.md). In memory: a restart forgets,
 * which costs an attacker a restart per window, not a bypass.
 */
export class LoginThrottle {
  private readonly pairs = new Map<string, number[]>();
  private readonly addresses = new Map<string, number[]>();

  constructor(readonly settings: ThrottleSettings) {}

  private recent(map: Map<string, number[]>, key: string, now: number): number[] {
    const list = (map.get(key) ?? []).filter((t) => t > now - this.settings.windowMs);
    if (list.length === 0) map.delete(key);
    else map.set(key, list);
    return list;
  }

  /** How long the pair or the address must still wait; 0 when it may try now. */
  retryAfter(username: string, address: string, now: number): number {
    const { maxPerPair, maxPerAddress, windowMs, backoffMs } = this.settings;
    let wait = 0;
    const pair = this.recent(this.pairs, pairKey(username, address), now);
    if (pair.length >= maxPerPair) {
      const backoff = Math.min(windowMs, backoffMs * 2 ** (pair.length - maxPerPair));
      wait = Math.max(wait, pair[pair.length - 1]! + backoff - now);
    }
    const addr = this.recent(this.addresses, address, now);
    if (addr.length >= maxPerAddress) wait = Math.max(wait, addr[0]! + windowMs - now);
    return Math.max(0, wait);
  }

  /**
   * Check and count in one synchronous step. Returns 0 when the attempt may go on (it is
   * counted as a failure until `succeed`), else the milliseconds to wait (not counted, so
   * hammering a locked pair does not lengthen its wait beyond the back-off).
   */
  attempt(username: string, address: string, now: number): number {
    const wait = this.retryAfter(username, address, now);
    if (wait > 0) return wait;
    const key = pairKey(username, address);
    this.pairs.set(key, [...(this.pairs.get(key) ?? []), now]);
    this.addresses.set(address, [...(this.addresses.get(address) ?? []), now]);
    return 0;
  }

  /** The password was right: forget the pair's failures and take back this attempt's count. */
  succeed(username: string, address: string, at: number): void {
    this.pairs.delete(pairKey(username, address));
    const addr = this.addresses.get(address);
    const i = addr?.lastIndexOf(at) ?? -1;
    if (addr && i >= 0) addr.splice(i, 1);
  }
}

const pairKey = (username: string, address: string) => `${username}\u0000${address}`;
