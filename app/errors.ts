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
  /** A control request the socket does not do: not JSON, too large, another op or an unknown field. */
  controlRefused: 'GFX_APP_CONTROL_REFUSED',
  /** The running process cannot be reached over its control socket. */
  controlUnreachable: 'GFX_APP_NOT_RUNNING',
  /** The API token to revoke does not exist or is already revoked. */
  authNoToken: 'GFX_AUTH_NO_TOKEN',
  /** A new password is too short. */
  authWeakPassword: 'GFX_AUTH_WEAK_PASSWORD',
  /** An LP sent to the job queue (`uplink.workers`) got no answer within its budget. */
  queueSolveTimeout: 'GFX_APP_QUEUE_SOLVE_TIMEOUT',
  /** A `gridflex worker` could not solve an LP sent to the job queue, or its answer was unusable. */
  queueSolveFailed: 'GFX_APP_QUEUE_SOLVE_FAILED',
} as const;

/** Error codes of the device service (its catalogue; the HTTP layer passes them through). */
export const DEVICE_ERRORS = {
  /** Outside what the site's administrator allows managers (address, serial port, writes). */
  notAllowed: 'GFX_DEVICE_NOT_ALLOWED',
  /** The configuration file defines this device: it is changed there, not over the API. */
  configured: 'GFX_DEVICE_CONFIGURED',
  /** The physical device (host, port, unit) already belongs to another device or site. */
  taken: 'GFX_DEVICE_TAKEN',
  /** A device under test did not answer (no detail: the server's network is not probed). */
  unreachable: 'GFX_DEVICE_UNREACHABLE',
  notFound: 'GFX_NOT_FOUND',
} as const;
