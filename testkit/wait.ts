const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait (real time, polling every 250 ms) until `ok()` gives a value other than `undefined` or
 * `false`, and return it; `what` (or what it returns, for a message built at the end) names
 * the wait when the limit is reached. A generous limit, never a timing assertion.
 */
export async function until<T>(
  what: string | (() => string),
  ok: () => Promise<T | undefined | false> | T | undefined | false,
  limitMs: number,
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await ok();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(250);
  }
}
