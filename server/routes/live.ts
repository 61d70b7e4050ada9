import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bufferTime, filter } from 'rxjs';
import { z } from 'zod';
import { IdSchema, listPoints } from '../../model/index.js';
import { identify } from '../access.js';
import type { AppContext } from '../context.js';
import { securityHeaders } from '../security-headers.js';
import type { Services } from '../services.js';

/** Readings are sent in batches at most this often: a page needs a few updates a second, not thousands. */
const BATCH_MS = 250;

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Server-Sent Events of a site's readings from the hub. The stream starts with the latest
 * stored value of each point (`snapshot`), then sends `readings` batches as they arrive.
 * It only carries the site the route's scope check admitted, and it ends when the caller's
 * session ends (checked at each heartbeat) or the server stops.
 */
export function liveRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  return async (app) => {
    const open = new Set<() => void>();
    app.addHook('preClose', async () => {
      for (const end of [...open]) end();
    });

    app.get(
      '/api/sites/:site/live',
      {
        config: {
          access: { roles: ['admin', 'manager', 'operator'], scope: { kind: 'site', param: 'site' } },
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
        const keys = listPoints([site]).map((p) => p.key);
        const latest = await ctx.store.readings.latest(keys);
        reply.hijack();
        const raw: ServerResponse = reply.raw;
        raw.writeHead(200, {
          ...securityHeaders(req),
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        raw.write('retry: 3000\n\n');
        raw.write(
          sse(
            'snapshot',
            [...latest].map(([pointId, r]) => ({ pointId, ...r })),
          ),
        );
        const prefix = `${site.id}/`;
        const sub = ctx.hub.readings$
          .pipe(
            filter((r) => r.pointId.startsWith(prefix)),
            bufferTime(BATCH_MS),
            filter((batch) => batch.length > 0),
          )
          .subscribe({ next: (batch) => raw.write(sse('readings', batch)), complete: () => end() });
        const heartbeat = setInterval(async () => {
          const still = await identify(req, s.auth).catch(() => null);
          if (!still) return end();
          raw.write(': keep-alive\n\n');
        }, s.settings.liveHeartbeatMs);
        const end = () => {
          if (!open.delete(end)) return;
          clearInterval(heartbeat);
          sub.unsubscribe();
          raw.end();
        };
        open.add(end);
        req.raw.on('close', end);
      },
    );
  };
}
