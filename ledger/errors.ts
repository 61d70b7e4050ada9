/**
 * Error codes of the ledger's trust layer (signed checkpoints, verification, consent). The
 * older codes are still written at their throw sites; new ones are kept here.
 */
/** The signing key file cannot be read or created. */
export const LEDGER_KEY = 'GFX_LEDGER_KEY';
/** A printed checkpoint or verification code is not in the expected form. */
export const LEDGER_CHECKPOINT = 'GFX_LEDGER_CHECKPOINT';
/** A unit's interval data are not stored for that period (billed before profiles were kept, or deleted after retention). */
export const LEDGER_NO_PROFILE = 'GFX_LEDGER_NO_PROFILE';
