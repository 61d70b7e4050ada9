-- Central side: every solved fleet re-plan, written by `gridflex worker` before it completes the
-- job. pg-boss keeps a job's id across retries, so a job re-delivered after its worker died
-- finds its row and adds none.
CREATE TABLE IF NOT EXISTS uplink_replans (
  site text NOT NULL,
  job_id text NOT NULL,
  requested_at timestamptz NOT NULL,
  solved_at timestamptz NOT NULL,
  status text NOT NULL,
  objective double precision,
  solution jsonb NOT NULL,
  PRIMARY KEY (site, job_id)
);
CREATE INDEX IF NOT EXISTS uplink_replans_latest ON uplink_replans (site, requested_at DESC, solved_at DESC);
