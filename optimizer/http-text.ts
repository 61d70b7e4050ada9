import { GridflexError } from '../model/index.js';

/**
 * GET a URL's text within a time limit, for the price and weather sources. Failures are
 * GridflexErrors of `code` (kind `unavailable`) whose message starts with `what` and never
 * carries the URL (it may hold an API token). A non-2xx answer is returned, not thrown: the
 * caller reads its body (Open-Meteo's `reason`, ENTSO-E's acknowledgement).
 */
export async function httpText(
  url: string,
  o: { timeoutMs: number; what: string; code: string },
): Promise<{ status: number; ok: boolean; body: string }> {
  const fail = (message: string, cause: unknown) =>
    new GridflexError(o.code, `${o.what}: ${message}`, { kind: 'unavailable', cause });
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs) });
    return { status: res.status, ok: res.ok, body: await res.text() };
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError') throw fail(`no answer within ${o.timeoutMs} ms`, e);
    // undici puts the reason (ECONNREFUSED …) in `cause`; its message names the host, not the query.
    const why = (err.cause as Error | undefined)?.message ?? err.message;
    throw fail(`request failed: ${why}`, e);
  }
}
