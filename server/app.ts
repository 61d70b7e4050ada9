import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { requireAccessRules } from './access.js';
import type { AppContext } from './context.js';
import { installErrorHandler } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { readingRoutes } from './routes/readings.js';
import { siteRoutes } from './routes/sites.js';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

/** The HTTP API: one plugin per area, zod schemas for validation and the OpenAPI document at /docs. */
export async function buildApp(ctx: AppContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // Point keys contain "/" (encoded as %2F); ids are short, so a modest limit is safe.
    routerOptions: { maxParamLength: 300 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  requireAccessRules(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Gridflex API',
        version: ctx.version,
        description: 'Energy flexibility and virtual power plant controller',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes(ctx));
  await app.register(siteRoutes(ctx));
  await app.register(readingRoutes(ctx));
  return app;
}
