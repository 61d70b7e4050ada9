import { z } from 'zod';
import { PointKeySchema } from './ids.js';

/**
 * good: measured and plausible. uncertain: measured but suspicious (stale, after a counter
 * reset, estimated by the device). bad: no trustworthy value (device unreachable, exception);
 * its value may be null, since nothing invents a value.
 */
export const QualitySchema = z.enum(['good', 'uncertain', 'bad']);
export type Quality = z.infer<typeof QualitySchema>;

export const ReadingSchema = z
  .object({
    pointId: PointKeySchema,
    /** Milliseconds since the Unix epoch, UTC. */
    ts: z.number().int().min(0),
    value: z.number().nullable(),
    quality: QualitySchema,
  })
  .refine((r) => r.value !== null || r.quality === 'bad', {
    path: ['value'],
    message: 'a reading without a value must have quality "bad"',
  });
export type Reading = z.infer<typeof ReadingSchema>;

export const ReadingBatchSchema = z.array(ReadingSchema);
