-- With TimescaleDB: readings become a hypertable (1-day chunks), rollups are real-time
-- continuous aggregates with the same columns as the plain tables, old chunks are compressed
-- and raw readings are dropped after the retention period (rollups are kept).
-- Buckets start at the same instants as the plain flavour (origin 2000-01-03 UTC).
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'), migrate_data => true);

CREATE MATERIALIZED VIEW readings_15m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT point_id, time_bucket(INTERVAL '15 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       first(value, ts) AS first_value, min(ts) AS first_ts,
       last(value, ts) AS last_value, max(ts) AS last_ts
FROM readings WHERE quality < 2
GROUP BY point_id, time_bucket(INTERVAL '15 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT point_id, time_bucket(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       first(value, ts) AS first_value, min(ts) AS first_ts,
       last(value, ts) AS last_value, max(ts) AS last_ts
FROM readings WHERE quality < 2
GROUP BY point_id, time_bucket(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
WITH NO DATA;

-- Late data (a gateway replaying its buffer after an outage) lands up to 35 days back.
SELECT add_continuous_aggregate_policy('readings_15m',
  start_offset => INTERVAL '35 days', end_offset => INTERVAL '15 minutes', schedule_interval => INTERVAL '15 minutes');
SELECT add_continuous_aggregate_policy('readings_1h',
  start_offset => INTERVAL '35 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');

ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'ts');
SELECT add_compression_policy('readings', INTERVAL '7 days');
-- Must stay longer than the aggregate policies' start_offset, or refreshes would erase rollups.
SELECT add_retention_policy('readings', INTERVAL '730 days');
