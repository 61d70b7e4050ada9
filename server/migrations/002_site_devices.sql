-- Devices a manager added or re-mapped over the API; the demo re-applies them at start.
-- `config` is `{ device, profiles }` in the gateway file's shape, validated again when read.
CREATE TABLE site_devices (
  site text NOT NULL,
  device_id text NOT NULL,
  building text NOT NULL,
  config jsonb NOT NULL,
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site, device_id)
);
