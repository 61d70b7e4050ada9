import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GridflexError } from '../../model/index.js';
import type { AppContext } from '../context.js';
import { SERVER_ERRORS } from '../errors.js';
import type { Services } from '../services.js';

const Ref = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a unit id');

/**
 * The resident's right to erasure (PRIVACY.md): `DELETE /api/units/:unit/data` deletes the
 * flat meter's billed interval data (raw readings, rollups, the 15-minute profiles beside the
 * ledger). Only the unit's own resident may ask, with an explicit confirmation; the bills'
 * monthly totals stay (a business record), and data not billed yet is kept until it is.
 */
export function erasureRoutes(ctx: AppContext, services: Services): FastifyPluginAsyncZod {
  return async (app) => {
    app.delete(
      '/api/units/:unit/data',
      {
        config: { access: { roles: ['resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary:
            'The resident erases its flat’s billed 15-minute data (the bills’ monthly totals stay; unbilled data is kept until billed)',
          tags: ['privacy'],
          params: z.object({ unit: Ref }),
          body: z.object({ confirm: z.literal('erase') }).strict(),
          response: {
            200: z.object({
              unit: z.string(),
              profiles: z.number().int(),
              readings: z.number().int(),
              rollups: z.number().int(),
              keptFrom: z.string().nullable(),
            }),
          },
        },
      },
      async (req) => {
        if (!ctx.erasure)
          throw new GridflexError(SERVER_ERRORS.ERASURE_OFF, 'erasure is not available on this server', {
            kind: 'unavailable',
          });
        const who = req.identity!;
        const r = await ctx.erasure.erase(req.params.unit);
        await services.audit.append({
          actor: who.username,
          action: 'personal_data_erased',
          target: `unit:${req.params.unit}`,
          ip: req.ip,
          details: { ...r },
        });
        return {
          unit: req.params.unit,
          profiles: r.profiles,
          readings: r.readings,
          rollups: r.rollups,
          keptFrom: r.keptFromMs === null ? null : new Date(r.keptFromMs).toISOString(),
        };
      },
    );
  };
}
