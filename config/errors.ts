/**
 * Error codes of config/ (configuration files) (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const CONFIG_ERRORS = {
  /** A configuration file does not match its schema (`details.issues` names each field). */
  INVALID: 'GFX_CONFIG_INVALID',
  FILE: 'GFX_CONFIG_FILE',
} as const;
