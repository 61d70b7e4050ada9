-- The append-only, hash-chained ledger (ledger/chain.ts). `body` is the canonical JSON of the
-- entry; hash = SHA-256(prev_hash | seq | kind | community | body), hex.
CREATE TABLE ledger_entries (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  community text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('readings_accepted', 'allocation_run', 'bill_issued', 'correction')),
  body text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL UNIQUE
);

CREATE INDEX ledger_entries_community ON ledger_entries (community, kind);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger entries are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
