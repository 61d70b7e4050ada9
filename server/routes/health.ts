import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';

const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  store: z.object({
    reachable: z.boolean(),
    description: z.string(),
    flavour: z.string(),
    error: z.string().optional(),
  }),
  writer: z
    .object({
      state: z.string(),
      pendingMemory: z.number(),
      pendingDisk: z.number(),
      dropped: z.number(),
      lastError: z.string().nullable(),
    })
    .optional(),
});

/** Liveness and readiness for load balancers and for a building manager wondering "is it up?". */
export function healthRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/health',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'Whether Gridflex and its store are working',
          tags: ['system'],
          response: { 200: HealthSchema, 503: HealthSchema },
        },
      },
      async (_req, reply) => {
        let error: string | undefined;
        try {
          await ctx.store.health();
        } catch (err) {
          error = (err as Error).message;
        }
        const writer = ctx.writer?.status();
        const body = {
          status: error ? ('degraded' as const) : ('ok' as const),
          version: ctx.version,
          store: {
            reachable: !error,
            description: ctx.store.description,
            flavour: ctx.store.flavour,
            ...(error ? { error } : {}),
          },
          ...(writer
            ? {
                writer: {
                  state: writer.state,
                  pendingMemory: writer.pendingMemory,
                  pendingDisk: writer.pendingDisk,
                  dropped: writer.dropped,
                  lastError: writer.lastError,
                },
              }
            : {}),
        };
        return reply.code(error ? 503 : 200).send(body);
      },
    );
  };
}
