/**
 * Error codes of optimizer/ (GridflexError.code). Kept here so callers and tests compare against
 * one constant; messages are written at the throw site.
 */
export const OPT_ERRORS = {
  /** A solver failed or its thread died. */
  solver: 'GFX_OPT_SOLVER',
  /** A newer plan cancelled the solve. */
  cancelled: 'GFX_OPT_CANCELLED',
  /** The solver thread was stopped (budget, cancellation) with this solve still queued on it. */
  threadStopped: 'GFX_OPT_THREAD_STOPPED',
  /** The problem is larger than the chosen solver can take. */
  tooBig: 'GFX_OPT_TOO_BIG',
  /** A site's live state lacks what planning needs (a reading, a forecast); the loop waits for it. */
  state: 'GFX_OPT_STATE',
  /** A planning problem does not match its schema. */
  problem: 'GFX_OPT_PROBLEM',
  /** A tariff or a price document (ENTSO-E XML, CSV) is invalid or does not cover the time asked. */
  tariff: 'GFX_OPT_TARIFF',
  /** A price source answered with no prices (an ENTSO-E acknowledgement document). */
  priceSource: 'GFX_OPT_PRICE_SOURCE',
  /** A weather forecast could not be fetched or read (HTTP status, timeout, malformed JSON). */
  weather: 'GFX_OPT_WEATHER',
} as const;
