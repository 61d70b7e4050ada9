-- Plans of the re-plan loop, each with the inputs it was made from, so any decision can be
-- replayed (README "Plan storage"). Times are ms since epoch UTC (bigint), as the loop passes them.

CREATE TABLE optimizer_plans (
  id bigserial PRIMARY KEY,
  site text NOT NULL,
  created_ms bigint NOT NULL,
  -- Absolute slot index of slot 0 and its start time.
  slot bigint NOT NULL,
  start_ms bigint NOT NULL,
  slot_minutes real NOT NULL,
  -- solved | previous | baseline (replan.ts `Plan.source`).
  source text NOT NULL CHECK (source IN ('solved', 'previous', 'baseline')),
  -- The solver's status for a solved plan, 'fallback' for the others (the message says why).
  status text NOT NULL,
  objective double precision,
  baseline_cost double precision NOT NULL,
  message text,
  -- { slot, startMs, problem, inputs }: the optimiser problem and the site inputs behind it.
  request jsonb NOT NULL,
  schedule jsonb NOT NULL,
  -- The OptimizeResult of a solved plan (explanation, cost breakdown, timing); null otherwise.
  result jsonb
);
CREATE INDEX optimizer_plans_site_start ON optimizer_plans (site, start_ms, id);
