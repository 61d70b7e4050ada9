/**
 * Error codes of the simulator (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const SIM_ERRORS = {
  SCENARIO: 'GFX_SIM_SCENARIO',
} as const;
