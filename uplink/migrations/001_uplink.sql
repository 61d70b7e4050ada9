-- Edge side: the durable outbox of telemetry not yet acknowledged by central, and small counters.
CREATE TABLE IF NOT EXISTS uplink_outbox (
  seq bigint PRIMARY KEY,
  created_ms bigint NOT NULL,
  n integer NOT NULL,
  readings text NOT NULL
);
CREATE TABLE IF NOT EXISTS uplink_state (
  key text PRIMARY KEY,
  value bigint NOT NULL
);
-- Both sides: the command log. Central writes what it sent and the edge's answers; the edge
-- writes what it received, so a command re-delivered after a reboot is not applied twice.
CREATE TABLE IF NOT EXISTS uplink_commands (
  side text NOT NULL CHECK (side IN ('central', 'edge')),
  site text NOT NULL,
  cmd_id text NOT NULL,
  seq bigint NOT NULL,
  issued_at bigint NOT NULL,
  valid_until bigint NOT NULL,
  body text NOT NULL,
  status text NOT NULL,
  reason text,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (side, site, cmd_id)
);
CREATE INDEX IF NOT EXISTS uplink_commands_open ON uplink_commands (side, status, valid_until);
