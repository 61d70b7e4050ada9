-- Signed checkpoints (ledger/seal.ts): after a period's bills, a `seal` entry signs the chain
-- head with the community's Ed25519 key. Per-unit interval profiles are personal data and
-- live outside the chain (so they can be deleted after retention without breaking it); the
-- resident's consent to show them to the board is kept with its history.
ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
  CHECK (kind IN ('readings_accepted', 'allocation_run', 'bill_issued', 'correction', 'seal'));

CREATE TABLE ledger_unit_profiles (
  community text NOT NULL,
  period text NOT NULL,
  unit text NOT NULL,
  run_seq bigint NOT NULL,
  start_ms bigint NOT NULL,
  -- JSON arrays of integer mWh per quarter-hour, and the quality flag per quarter-hour.
  consumption text NOT NULL,
  solar text NOT NULL,
  flags text NOT NULL,
  PRIMARY KEY (community, period, unit, run_seq)
);

CREATE TABLE ledger_profile_consent (
  unit text PRIMARY KEY,
  board_may_see boolean NOT NULL,
  changed_by text,
  changed_at timestamptz NOT NULL DEFAULT now()
);
