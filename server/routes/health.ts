import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { identify } from '../access.js';
import type { AppContext } from '../context.js';
import type { Services } from '../services.js';

/** Which kind of store answers: enough for a load balancer, nothing an attacker can aim at. */
const StoreKindSchema = z.enum(['embedded', 'postgresql']);

const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  store: z.object({
    reachable: z.boolean(),
    kind: StoreKindSchema,
    /** Admins only: where the store is (host and database name, or the data folder) and why it fails. */
    description: z.string().optional(),
    flavour: z.string().optional(),
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

/**
 * Liveness and readiness for load balancers and for a building manager wondering "is it up?".
 * Public, so it tells an anonymous caller only whether the store answers and its kind; an
 * admin (session or token) also gets where the store is, its error and the writer's backlog.
 */
export function healthRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  const kind: z.infer<typeof StoreKindSchema> =
    ctx.store.db.backend === 'postgres' ? 'postgresql' : 'embedded';
  return async (app) => {
    app.get(
      '/health',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'Whether Gridflex and its store are working (details for admins)',
          tags: ['system'],
          response: { 200: HealthSchema, 503: HealthSchema },
        },
      },
      async (req, reply) => {
        let error: string | undefined;
        try {
          await ctx.store.health();
        } catch (err) {
          error = (err as Error).message;
        }
        const status = error ? ('degraded' as const) : ('ok' as const);
        // An unreachable store cannot check a session either: then the caller is anonymous.
        const who = error ? null : await identify(req, s.auth).catch(() => null);
        if (error) req.log.warn({ err: error }, 'health: the store does not answer');
        if (who?.role !== 'admin')
          return reply
            .code(error ? 503 : 200)
            .send({ status, version: ctx.version, store: { reachable: !error, kind } });
        const writer = ctx.writer?.status();
        const body = {
          status,
          version: ctx.version,
          store: {
            reachable: !error,
            kind,
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
