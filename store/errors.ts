/**
 * Error codes of store/ (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const STORE_ERRORS = {
  LOCKED: 'GFX_STORE_LOCKED',
  MIGRATION: 'GFX_STORE_MIGRATION',
  MIGRATION_CHANGED: 'GFX_STORE_MIGRATION_CHANGED',
  NO_TIMESCALE: 'GFX_STORE_NO_TIMESCALE',
  UNAVAILABLE: 'GFX_STORE_UNAVAILABLE',
  UNKNOWN_POINT: 'GFX_STORE_UNKNOWN_POINT',
} as const;
