-- Without TimescaleDB, rollups are tables kept up to date by a statement trigger. Readings are
-- insert-only (ingest skips duplicates), so merging each batch's partial aggregates is exact.
-- Bad readings are left out of every aggregate.
CREATE TABLE readings_15m (
  point_id integer NOT NULL,
  bucket timestamptz NOT NULL,
  n bigint NOT NULL,
  sum double precision,
  min double precision,
  max double precision,
  first_value double precision,
  first_ts timestamptz NOT NULL,
  last_value double precision,
  last_ts timestamptz NOT NULL,
  PRIMARY KEY (point_id, bucket)
);
CREATE TABLE readings_1h (LIKE readings_15m INCLUDING ALL);

CREATE FUNCTION gridflex_rollup_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One pass over the batch builds 15-minute partials; the hourly ones are built from those.
  WITH partial AS (
    SELECT point_id, date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
           count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
           (array_agg(value ORDER BY ts))[1] AS first_value, min(ts) AS first_ts,
           (array_agg(value ORDER BY ts DESC))[1] AS last_value, max(ts) AS last_ts
    FROM new_rows WHERE quality < 2 GROUP BY 1, 2
  ), quarter AS (
    INSERT INTO readings_15m AS r SELECT * FROM partial
  ON CONFLICT (point_id, bucket) DO UPDATE SET
    n = r.n + EXCLUDED.n,
    sum = r.sum + EXCLUDED.sum,
    min = LEAST(r.min, EXCLUDED.min),
    max = GREATEST(r.max, EXCLUDED.max),
    first_value = CASE WHEN EXCLUDED.first_ts < r.first_ts THEN EXCLUDED.first_value ELSE r.first_value END,
    first_ts = LEAST(r.first_ts, EXCLUDED.first_ts),
    last_value = CASE WHEN EXCLUDED.last_ts > r.last_ts THEN EXCLUDED.last_value ELSE r.last_value END,
    last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts)
  )
  INSERT INTO readings_1h AS r
  SELECT point_id, date_bin('1 hour', bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00'),
         sum(n), sum(sum), min(min), max(max),
         (array_agg(first_value ORDER BY first_ts))[1], min(first_ts),
         (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts)
  FROM partial GROUP BY 1, 2
  ON CONFLICT (point_id, bucket) DO UPDATE SET
    n = r.n + EXCLUDED.n,
    sum = r.sum + EXCLUDED.sum,
    min = LEAST(r.min, EXCLUDED.min),
    max = GREATEST(r.max, EXCLUDED.max),
    first_value = CASE WHEN EXCLUDED.first_ts < r.first_ts THEN EXCLUDED.first_value ELSE r.first_value END,
    first_ts = LEAST(r.first_ts, EXCLUDED.first_ts),
    last_value = CASE WHEN EXCLUDED.last_ts > r.last_ts THEN EXCLUDED.last_value ELSE r.last_value END,
    last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts);
  RETURN NULL;
END
$$;

CREATE TRIGGER readings_rollup AFTER INSERT ON readings
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridflex_rollup_readings();
