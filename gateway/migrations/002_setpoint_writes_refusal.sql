-- The refusal code of a refused write (model/write.ts WriteRefusalSchema: rate_limited,
-- out_of_range, not_writable, …), so callers branch on a code, not on the reason's words.
-- NULL for every other outcome, and for refusals stored before the code existed (those are
-- classified from their reason when read, gateway/write-log.ts). No CHECK list: the codes are
-- the model's and may grow; the gateway writes only codes of the enum.
ALTER TABLE setpoint_writes ADD COLUMN refusal text;
