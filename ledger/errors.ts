/**
 * Error codes of ledger/ (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const LEDGER_ERRORS = {
  /** A printed checkpoint or verification code is not in the expected form. */
  CHECKPOINT: 'GFX_LEDGER_CHECKPOINT',
  CANONICAL: 'GFX_LEDGER_CANONICAL',
  CSV: 'GFX_LEDGER_CSV',
  DATA_GAP: 'GFX_LEDGER_DATA_GAP',
  INSTANT: 'GFX_LEDGER_INSTANT',
  /** The signing key file cannot be read or created. */
  KEY: 'GFX_LEDGER_KEY',
  MEMBERS: 'GFX_LEDGER_MEMBERS',
  NO_POINT: 'GFX_LEDGER_NO_POINT',
  /** A unit's interval data are not stored for that period (billed before profiles were kept, or deleted after retention). */
  NO_PROFILE: 'GFX_LEDGER_NO_PROFILE',
  NO_TARIFF: 'GFX_LEDGER_NO_TARIFF',
  NUMBER: 'GFX_LEDGER_NUMBER',
  PDF: 'GFX_LEDGER_PDF',
  PERIOD: 'GFX_LEDGER_PERIOD',
  PERIOD_BILLED: 'GFX_LEDGER_PERIOD_BILLED',
  PRICE_CAP: 'GFX_LEDGER_PRICE_CAP',
  SDAT: 'GFX_LEDGER_SDAT',
  SHAPE: 'GFX_LEDGER_SHAPE',
  SHARES: 'GFX_LEDGER_SHARES',
} as const;

// The single-name exports predate the catalogue; other modules (server routes) import them.
export const LEDGER_KEY = LEDGER_ERRORS.KEY;
export const LEDGER_CHECKPOINT = LEDGER_ERRORS.CHECKPOINT;
export const LEDGER_NO_PROFILE = LEDGER_ERRORS.NO_PROFILE;
