import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bufferTime, filter, map } from 'rxjs';
import { z } from 'zod';
import { IdSchema } from '../../model/index.js';
import type { AppContext } from '../context.js';
import { eventStreams } from '../event-stream.js';
import { auditAccess, visiblePoints } from '../privacy.js';
import type { Services } from '../services.js';
import { SITE_STAFF_ACCESS } from './site-lookup.js';

/** Readings are sent in batches at most this often: a page needs a few updates a second, not thousands. */
const BATCH_MS = 250;

/**
 * Server-Sent Events of a site's readings from the hub. The stream starts with the latest
 * stored value of each point (`snapshot`), then sends `readings` batches as they arrive.
 * It only carries the site the route's scope check admitted, and it ends when the caller's
 * session ends (checked at each heartbeat) or the server stops.
 */
export function liveRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  return async (app) => {
    const stream = eventStreams(app, s);

    app.get(
      '/api/sites/:site/live',
      {
        config: {
          access: SITE_STAFF_ACCESS,
        },
        schema: {
          summary: "A site's readings as they arrive (text/event-stream)",
          description:
            'Events: `snapshot` (latest stored reading per point), then `readings` (arrays of ' +
            '{ pointId, ts, value, quality }). A comment line every 15 s keeps proxies from closing it.',
          tags: ['readings'],
          params: z.object({ site: IdSchema }),
        },
      },
      async (req, reply) => {
        const site = ctx.sites.find((x) => x.id === req.params.site);
        if (!site) {
          return reply.code(404).send({ error: 'GFX_NOT_FOUND', message: `no site "${req.params.site}"` });
        }
        // Only the points the caller may see (server/privacy.ts); an admin's look at households is audited.
        const { keys, audited } = visiblePoints(ctx, req.identity!, site);
        await auditAccess(s, req, audited, { live: true });
        const visible = new Set(keys);
        const latest = await ctx.store.readings.latest(keys);
        stream(
          req,
          reply,
          ctx.hub.readings$.pipe(
            filter((r) => visible.has(r.pointId)),
            bufferTime(BATCH_MS),
            filter((batch) => batch.length > 0),
            map((batch) => ({ event: 'readings', data: batch })),
          ),
          [{ event: 'snapshot', data: [...latest].map(([pointId, r]) => ({ pointId, ...r })) }],
        );
      },
    );
  };
}
