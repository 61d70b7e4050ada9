/**
 * Error codes of the command line (GridflexError.code): one catalogue, so throw sites and tests compare
 * against a constant. The values are stable: clients and tests match on them.
 */
export const CLI_ERRORS = {
  ARGS: 'GFX_CLI_ARGS',
  CONNECT: 'GFX_CLI_CONNECT',
  GW_AUDIT: 'GFX_GW_AUDIT',
  GW_NO_SUNSPEC: 'GFX_GW_NO_SUNSPEC',
  GW_UNREACHABLE: 'GFX_GW_UNREACHABLE',
  /** `gridflex sim`: its Modbus or OPC UA port is taken. */
  SIM_PORT_IN_USE: 'GFX_SIM_PORT_IN_USE',
  /** `gridflex write` did not write (the code names the outcome of the write record). */
  WRITE_BY_OUTCOME: {
    unverified: 'GFX_GW_WRITE_UNVERIFIED',
    refused: 'GFX_GW_WRITE_REFUSED',
    rejected: 'GFX_GW_WRITE_REJECTED',
    failed: 'GFX_GW_WRITE_FAILED',
  },
} as const;
