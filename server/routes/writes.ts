import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GridflexError, IdSchema, MODEL_ERRORS } from '../../model/index.js';
import type { AppContext } from '../context.js';

const WriteSchema = z.object({
  id: z.number(),
  ts: z.string().describe('When the gateway decided (ISO 8601)'),
  device: z.string(),
  point: z.string(),
  who: z.string().describe('A user, `optimizer`, `market` or `gateway`'),
  why: z.string(),
  requested: z.number(),
  value: z.number().nullable().describe('What was sent after clamping; null when nothing was sent'),
  clamped: z.boolean(),
  old: z.number().nullable(),
  readBack: z.number().nullable(),
  outcome: z.enum(['written', 'unverified', 'refused', 'rejected', 'failed']),
  reason: z.string().nullable(),
});

/**
 * The site's setpoint writes and refusals from the gateway's append-only `setpoint_writes`
 * table (its service, `ServerModules.writes`, opens it with the gateway's migrations run).
 */
export function writeRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const repo = ctx.modules.writes;
    app.get(
      '/api/sites/:site/writes',
      {
        config: { access: { roles: ['admin', 'manager'], scope: { kind: 'site', param: 'site' } } },
        schema: {
          summary: "Setpoint writes to a site's devices and the refusals of the safety layer, newest first",
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            offset: z.coerce.number().int().min(0).default(0),
          }),
          response: {
            200: z.object({ writes: z.array(WriteSchema), nextOffset: z.number().nullable() }),
          },
        },
      },
      async (req) => {
        const site = req.params.site;
        if (!ctx.sites.some((s) => s.id === site))
          throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no site "${site}"`, { kind: 'not_found' });
        const page = await repo.list({ site, limit: req.query.limit, offset: req.query.offset });
        return {
          writes: page.items.map(({ ts, site: _site, ...w }) => ({ ...w, ts: new Date(ts).toISOString() })),
          nextOffset: page.nextOffset,
        };
      },
    );
  };
}
