import { z } from 'zod';

/**
 * Identifiers of sites, buildings, devices, points and assets. They appear in URLs, file
 * names, log lines and SQL, so they are restricted to a safe, readable alphabet.
 */
export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[a-z0-9][a-z0-9_-]*$/,
    'use lower-case letters, digits, "-" and "_" (start with a letter or digit)',
  );
export type Id = z.infer<typeof IdSchema>;

/**
 * A point's globally unique key: `site/device/point` in the configuration, but any path of
 * ids joined by "/" is accepted so imported data (ledger meters, market baselines) fit too.
 */
export const PointKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[a-z0-9][a-z0-9_.:-]*(\/[a-z0-9][a-z0-9_.:-]*)*$/,
    'expected ids joined by "/", e.g. "bern/grid-meter/power"',
  );
export type PointKey = z.infer<typeof PointKeySchema>;
