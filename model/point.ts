import { z } from 'zod';
import { IdSchema } from './ids.js';

/**
 * What a point measures or controls. Each kind has canonical units; the gateway converts
 * device values (e.g. kW with a scale factor) into them before a reading leaves the edge.
 */
export const PointKindSchema = z.enum([
  'active_power',
  'reactive_power',
  'energy_import',
  'energy_export',
  'state_of_charge',
  'temperature',
  'frequency',
  'voltage',
  'current',
  'power_factor',
  'setpoint',
  'status',
  'heartbeat',
]);
export type PointKind = z.infer<typeof PointKindSchema>;

export const UnitSchema = z.enum(['W', 'Wh', 'var', '%', 'degC', 'Hz', 'V', 'A', 'ratio', 's', 'count', '']);
export type Unit = z.infer<typeof UnitSchema>;

/** The unit a reading of this kind is stored in. `null` means the point declares its own. */
export const CANONICAL_UNIT: Record<PointKind, Unit | null> = {
  active_power: 'W',
  reactive_power: 'var',
  energy_import: 'Wh',
  energy_export: 'Wh',
  state_of_charge: '%',
  temperature: 'degC',
  frequency: 'Hz',
  voltage: 'V',
  current: 'A',
  power_factor: 'ratio',
  setpoint: null,
  status: '',
  heartbeat: 'count',
};

/** Energy counters only grow; the store reports per-bucket deltas for them. */
export function isCounter(kind: PointKind): boolean {
  return kind === 'energy_import' || kind === 'energy_export';
}

export const PointSchema = z
  .object({
    id: IdSchema,
    name: z.string().min(1).optional(),
    kind: PointKindSchema,
    unit: UnitSchema.optional(),
    writable: z.boolean().default(false),
    /** Lowest value a write may set (canonical unit). Required for writable points. */
    min: z.number().optional(),
    /** Highest value a write may set (canonical unit). Required for writable points. */
    max: z.number().optional(),
  })
  .superRefine((p, ctx) => {
    const canonical = CANONICAL_UNIT[p.kind];
    if (canonical === null && p.unit === undefined) {
      ctx.addIssue({ code: 'custom', path: ['unit'], message: `a ${p.kind} point must declare its unit` });
    }
    if (canonical !== null && p.unit !== undefined && p.unit !== canonical) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `a ${p.kind} point is stored in "${canonical}", not "${p.unit}" (convert with the profile's scale)`,
      });
    }
    if (p.writable && (p.min === undefined || p.max === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [p.min === undefined ? 'min' : 'max'],
        message: 'a writable point needs both min and max: nothing is written without limits',
      });
    }
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${p.max}) is below min (${p.min})` });
    }
  });
export type Point = z.infer<typeof PointSchema>;

/** The unit a point's readings are stored in. */
export function unitOf(point: Point): Unit {
  return CANONICAL_UNIT[point.kind] ?? point.unit ?? '';
}

/**
 * The virtual device under which a site's frequency-response proof is stored as readings
 * (`<site>/frequency-response/{frequency,requested,metered}`; market/runtime/proof-log.ts).
 * Not a device of the site's file: operators may read it (server/privacy.ts).
 */
export const FREQUENCY_RESPONSE_DEVICE = 'frequency-response';
