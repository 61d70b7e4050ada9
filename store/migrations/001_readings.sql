-- Points are stored by a small integer id; the text key (site/device/point) is looked up once and cached.
CREATE TABLE points (
  id serial PRIMARY KEY,
  key text NOT NULL UNIQUE,
  kind text,
  unit text
);

-- One row per point and instant. quality: 0 good, 1 uncertain, 2 bad (value may be NULL when bad).
CREATE TABLE readings (
  point_id integer NOT NULL,
  ts timestamptz NOT NULL,
  value double precision,
  quality smallint NOT NULL CHECK (quality BETWEEN 0 AND 2),
  PRIMARY KEY (point_id, ts)
);
