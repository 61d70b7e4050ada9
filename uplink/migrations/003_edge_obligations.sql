-- Edge side: the last obligations central published for the site (uplink/PROTOCOL.md,
-- "Obligations"), so an edge that restarts while the broker is unreachable still answers the
-- frequency products it has sold until their end.
CREATE TABLE IF NOT EXISTS uplink_obligations (
  site text PRIMARY KEY,
  issued_at bigint NOT NULL,
  body text NOT NULL
);
