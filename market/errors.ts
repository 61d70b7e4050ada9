/**
 * Error codes of market/ (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const MARKET_ERRORS = {
  ACCEPTANCE: 'GFX_MARKET_ACCEPTANCE',
  ACTIVATION: 'GFX_MARKET_ACTIVATION',
  BASELINE_DATA: 'GFX_MARKET_BASELINE_DATA',
  /** Bids with these ids are stored already: replace them explicitly (or they were accepted). */
  BID_EXISTS: 'GFX_MARKET_BID_EXISTS',
  DUPLICATE_ID: 'GFX_MARKET_DUPLICATE_ID',
  FFR_TRIGGER: 'GFX_MARKET_FFR_TRIGGER',
  FINAL: 'GFX_MARKET_FINAL',
  HEADROOM: 'GFX_MARKET_HEADROOM',
  METER_DATA: 'GFX_MARKET_METER_DATA',
  NOT_LOCAL: 'GFX_MARKET_NOT_LOCAL',
  /** A bid's period has started: it can no longer be accepted. */
  PERIOD_STARTED: 'GFX_MARKET_PERIOD_STARTED',
  PRODUCT_MISMATCH: 'GFX_MARKET_PRODUCT_MISMATCH',
  UNKNOWN_PRODUCT: 'GFX_MARKET_UNKNOWN_PRODUCT',
} as const;
