-- Every setpoint write the gateway sent or refused (the safety layer's audit trail,
-- gateway/write-log.ts). Append-only: a correction is a new row, never an edit.
CREATE TABLE setpoint_writes (
  id bigserial PRIMARY KEY,
  ts timestamptz NOT NULL,
  site text NOT NULL,
  device text NOT NULL,
  point text NOT NULL,
  requested double precision NOT NULL,
  -- The value sent after clamping; NULL when the safety layer sent nothing.
  applied double precision,
  clamped boolean NOT NULL,
  old_value double precision,
  read_back double precision,
  outcome text NOT NULL CHECK (outcome IN ('written', 'unverified', 'refused', 'rejected', 'failed')),
  reason text,
  who text NOT NULL,
  why text NOT NULL
);

CREATE INDEX setpoint_writes_site_ts ON setpoint_writes (site, ts DESC, id DESC);
CREATE INDEX setpoint_writes_point_ts ON setpoint_writes (site, device, point, ts DESC);

CREATE FUNCTION setpoint_writes_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'setpoint writes are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER setpoint_writes_append_only BEFORE UPDATE OR DELETE ON setpoint_writes
  FOR EACH ROW EXECUTE FUNCTION setpoint_writes_refuse_change();

CREATE TRIGGER setpoint_writes_no_truncate BEFORE TRUNCATE ON setpoint_writes
  FOR EACH STATEMENT EXECUTE FUNCTION setpoint_writes_refuse_change();
