/**
 * Bounded parallelism for writes: at most `limit(key)` tasks in flight per key. A task names
 * every key it needs (its building, then its device connection) and takes them in that order,
 * so two tasks never wait on each other crosswise (whoever holds a device slot already holds
 * its building slot). First come, first served per key.
 */
export class KeyedLimiter {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: (key: string) => number) {}

  async run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const held: string[] = [];
    try {
      for (const k of keys) {
        await this.acquire(k);
        held.push(k);
      }
      return await task();
    } finally {
      for (const k of held.reverse()) this.release(k);
    }
  }

  private acquire(key: string): Promise<void> {
    const n = this.inFlight.get(key) ?? 0;
    if (n < Math.max(1, this.limit(key))) {
      this.inFlight.set(key, n + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const q = this.waiting.get(key) ?? [];
      if (q.length === 0) this.waiting.set(key, q);
      q.push(resolve);
    });
  }

  private release(key: string): void {
    const next = this.waiting.get(key)?.shift();
    // The slot passes straight to the next waiter: the count stays.
    if (next) next();
    else {
      const n = (this.inFlight.get(key) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, n);
      this.waiting.delete(key);
    }
  }
}
