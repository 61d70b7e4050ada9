-- Market state: bids, obligations, activations (with their state history and the executor's
-- status snapshots) and delivery reports. Times are ms since epoch UTC (bigint), as the market
-- core passes them; each record keeps its full JSON body next to the columns queried on.

CREATE TABLE market_bids (
  id text PRIMARY KEY,
  portfolio_id text NOT NULL,
  product_id text NOT NULL,
  start_ms bigint NOT NULL,
  end_ms bigint NOT NULL,
  body jsonb NOT NULL,
  -- An accepted bid is frozen: rebuilding the same period never changes what was sold.
  accepted boolean NOT NULL DEFAULT false,
  created_ms bigint NOT NULL
);
CREATE INDEX market_bids_period ON market_bids (portfolio_id, start_ms);

CREATE TABLE market_obligations (
  bid_id text PRIMARY KEY REFERENCES market_bids (id),
  portfolio_id text NOT NULL,
  product_id text NOT NULL,
  start_ms bigint NOT NULL,
  end_ms bigint NOT NULL,
  body jsonb NOT NULL,
  accepted_ms bigint NOT NULL
);
CREATE INDEX market_obligations_period ON market_obligations (portfolio_id, start_ms, end_ms);

CREATE TABLE market_activations (
  -- The operator's id: a repeated id with the same body is the same activation.
  id text PRIMARY KEY,
  portfolio_id text NOT NULL,
  product_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('activation', 'dr_event')),
  -- SHA-256 of the canonical request body, to tell a retry from a conflicting reuse of the id.
  body_hash text NOT NULL,
  request jsonb NOT NULL,
  plan jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('received', 'dispatching', 'active', 'restoring', 'completed', 'failed', 'cancelled')),
  requested_by text,
  message text,
  received_ms bigint NOT NULL,
  updated_ms bigint NOT NULL
);
CREATE INDEX market_activations_portfolio ON market_activations (portfolio_id, received_ms);

CREATE TABLE market_activation_events (
  id bigserial PRIMARY KEY,
  activation_id text NOT NULL REFERENCES market_activations (id),
  state text NOT NULL,
  ts_ms bigint NOT NULL,
  note text
);
CREATE INDEX market_activation_events_activation ON market_activation_events (activation_id, id);

CREATE TABLE market_execution_snapshots (
  id bigserial PRIMARY KEY,
  activation_id text NOT NULL REFERENCES market_activations (id),
  state text NOT NULL,
  updated_ms bigint NOT NULL,
  status jsonb NOT NULL
);
CREATE INDEX market_execution_snapshots_activation ON market_execution_snapshots (activation_id, id);

CREATE TABLE market_reports (
  activation_id text PRIMARY KEY REFERENCES market_activations (id),
  portfolio_id text NOT NULL,
  product_id text NOT NULL,
  start_ms bigint NOT NULL,
  end_ms bigint NOT NULL,
  -- Settlement rows (delivery.ts SettlementRow[]) and how the baseline was formed.
  rows jsonb NOT NULL,
  baseline jsonb NOT NULL,
  created_ms bigint NOT NULL
);
CREATE INDEX market_reports_period ON market_reports (portfolio_id, start_ms);
