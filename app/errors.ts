/**
 * Error codes of the composition root (CONTRIBUTING "Errors"): one catalogue, no string
 * literals at throw sites.
 */
export const APP_ERRORS = {
  /** gridflex.yaml (or a file it names) does not describe a runnable installation. */
  configInvalid: 'GFX_CONFIG_INVALID',
  /** `gridflex config convert` cannot merge the files it was given. */
  convertConflict: 'GFX_CONFIG_CONVERT',
  /** A control request to the running process (user management over its socket) failed. */
  controlFailed: 'GFX_APP_CONTROL',
  /** The running process cannot be reached over its control socket. */
  controlUnreachable: 'GFX_APP_NOT_RUNNING',
} as const;
