-- Rollups are now merged by the ingest itself (store/readings.ts), in the same transaction as
-- the rows, from partial aggregates of exactly the rows inserted: a statement trigger with a
-- transition table cost 26-31 % of ingest and kept COPY from its fast path. Only ingest
-- writes readings, so the rollups stay exact.
DROP TRIGGER readings_rollup ON readings;
DROP FUNCTION gridflex_rollup_readings();
