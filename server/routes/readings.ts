import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  DurationSchema,
  GridflexError,
  MODEL_ERRORS,
  PointKeySchema,
  QualitySchema,
} from '../../model/index.js';
import type { AppContext } from '../context.js';
import { auditAccess, visibility } from '../privacy.js';
import type { Services } from '../services.js';

const DAY = 86_400_000;
/** More buckets than this in one answer is almost always a mistake (a chart has ~2,000 pixels). */
const MAX_BUCKETS = 10_000;

/**
 * The instants the API accepts: 2000-01-01 to 2100-01-01 UTC. Energy data from before 2000 or
 * after 2100 is a typo, and bounding here keeps far instants from reaching the date and SQL
 * arithmetic (which answered 500 for them).
 */
export const MIN_INSTANT_MS = Date.UTC(2000, 0, 1);
export const MAX_INSTANT_MS = Date.UTC(2100, 0, 1);
/** Bucket sizes from 1 s to 366 d (a year of days; beyond that no chart needs one bucket). */
export const MIN_BUCKET_MS = 1000;
export const MAX_BUCKET_MS = 366 * DAY;

/** An instant as ISO 8601 with offset (2026-03-02T10:00:00Z) or as milliseconds since the epoch. */
const InstantSchema = z
  .string()
  .max(40)
  .refine((s) => /^\d{1,16}$/.test(s) || (/^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s))), {
    message: 'expected an ISO 8601 time like 2026-03-02T10:00:00Z, or milliseconds since 1970',
  })
  .transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)))
  .refine((ms) => ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS, {
    message: 'must lie between 2000-01-01 and 2100-01-01 (UTC)',
  });

const BucketSchema = z
  .string()
  .max(20)
  .pipe(z.union([z.literal('raw'), DurationSchema]))
  .refine((b) => b === 'raw' || (b >= MIN_BUCKET_MS && b <= MAX_BUCKET_MS), {
    message: 'a bucket lies between 1s and 366d',
  });

export const ReadingsQuerySchema = z
  .object({
    from: InstantSchema.optional().describe('Start (inclusive), 2000–2100. Default: 24 hours before `to`.'),
    to: InstantSchema.optional().describe('End (exclusive), 2000–2100. Default: now.'),
    bucket: BucketSchema.default(15 * 60_000).describe(
      '"raw" for every reading, or a bucket size from 1s to 366d such as 5m, 15m, 1h, 1d. Default 15m.',
    ),
  })
  .transform((q, ctx) => {
    const to = q.to ?? Date.now();
    const from = q.from ?? to - DAY;
    if (from >= to) ctx.addIssue({ code: 'custom', path: ['from'], message: '`from` must be before `to`' });
    const bucketMs = q.bucket === 'raw' ? null : q.bucket;
    if (bucketMs !== null && (to - from) / bucketMs > MAX_BUCKETS) {
      ctx.addIssue({
        code: 'custom',
        path: ['bucket'],
        message: `this range would give over ${MAX_BUCKETS} buckets; choose a larger bucket or a shorter range`,
      });
    }
    return { from, to, bucketMs };
  });

const iso = (ms: number) => new Date(ms).toISOString();

const ReadingsResponseSchema = z.object({
  pointId: z.string(),
  unit: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  bucket: z.string(),
  buckets: z
    .array(
      z.object({
        ts: z.string(),
        count: z.number(),
        mean: z.number().nullable(),
        min: z.number().nullable(),
        max: z.number().nullable(),
        first: z.number().nullable(),
        last: z.number().nullable(),
        delta: z.number().nullable().optional(),
      }),
    )
    .optional(),
  readings: z
    .array(z.object({ ts: z.string(), value: z.number().nullable(), quality: QualitySchema }))
    .optional(),
  truncated: z.boolean().optional(),
});

export function readingRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/points/:id/readings',
      {
        config: {
          access: {
            roles: ['admin', 'manager', 'operator'],
            scope: { kind: 'site', param: 'id', of: 'point' },
          },
        },
        schema: {
          summary: "A point's readings over a time range, raw or aggregated per bucket",
          description:
            'The point id contains slashes; encode them in the path (bern%2Fgrid-meter%2Fpower). ' +
            'Bucketed ranges are widened to whole buckets (UTC-aligned) and `from`/`to` in the answer say which.',
          tags: ['readings'],
          params: z.object({ id: PointKeySchema }),
          querystring: ReadingsQuerySchema,
          response: { 200: ReadingsResponseSchema },
        },
      },
      async (req) => {
        const { from, to, bucketMs } = req.query;
        // A household's meter: not there for managers and operators; an admin's look is audited.
        const seen = visibility(ctx, req.identity!, req.params.id);
        if (seen === 'hidden')
          throw new GridflexError(
            MODEL_ERRORS.NOT_FOUND,
            `no readings are stored for point "${req.params.id}"`,
            {
              kind: 'not_found',
            },
          );
        if (seen === 'audited')
          await auditAccess(s, req, [req.params.id], { from: iso(from), to: iso(to), bucketMs });
        const res = await ctx.store.readings.range({ pointId: req.params.id, from, to, bucketMs });
        const base = { pointId: res.pointId, unit: res.unit, from: iso(res.from), to: iso(res.to) };
        if (bucketMs === null) {
          return {
            ...base,
            bucket: 'raw',
            readings: res.raw.map((r) => ({ ts: iso(r.ts), value: r.value, quality: r.quality })),
            truncated: res.truncated,
          };
        }
        return {
          ...base,
          bucket: `${bucketMs / 1000}s`,
          buckets: res.buckets.map((b) => ({ ...b, ts: iso(b.ts) })),
        };
      },
    );
  };
}
