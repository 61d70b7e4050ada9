-- Per site, what an administrator allows its managers to configure over the API (address
-- ranges and ports, serial ports, writable kinds with limits, heartbeats): app/devices.ts.
CREATE TABLE site_device_policies (
  site text PRIMARY KEY,
  policy jsonb NOT NULL,
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
