import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { SiteDevices } from '../app/devices.js';
import { enforceAccess, requireAccessRules } from './access.js';
import type { AppContext } from './context.js';
import { installErrorHandler } from './errors.js';
import { authRoutes } from './routes/auth.js';
import { billRoutes } from './routes/bills.js';
import { deviceRoutes } from './routes/devices.js';
import { erasureRoutes } from './routes/erasure.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes } from './routes/live.js';
import { marketRoutes } from './routes/market.js';
import { planRoutes } from './routes/plan.js';
import { portfolioViewRoutes } from './routes/portfolio-view.js';
import { readingRoutes } from './routes/readings.js';
import { savingsRoutes } from './routes/savings.js';
import { siteRoutes } from './routes/sites.js';
import { webRoutes } from './routes/web.js';
import { writeRoutes } from './routes/writes.js';
import { installSecurityHeaders } from './security-headers.js';
import { makeServices, migrateServer } from './services.js';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Behind a TLS-terminating proxy: trust its X-Forwarded-* headers (then cookies get `Secure`). */
  trustProxy?: FastifyServerOptions['trustProxy'];
}

/**
 * The HTTP API and web UI: one plugin per area, zod schemas for validation and the OpenAPI
 * document at /docs, every route's `config.access` enforced. Applies the server's migrations.
 */
export async function buildApp(ctx: AppContext, options: AppOptions = {}): Promise<FastifyInstance> {
  await migrateServer(ctx.store);
  const services = makeServices(ctx);
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    // Point keys contain "/" (encoded as %2F); ids are short, so a modest limit is safe.
    routerOptions: { maxParamLength: 300 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  requireAccessRules(app);
  enforceAccess(app, services.auth, services.scopes);
  installSecurityHeaders(app);

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

  await app.register(healthRoutes(ctx, services));
  await app.register(authRoutes(services));
  await app.register(siteRoutes(ctx, services));
  await app.register(readingRoutes(ctx, services));
  await app.register(liveRoutes(ctx, services));
  await app.register(marketRoutes(ctx, services));
  await app.register(portfolioViewRoutes(ctx));
  const devices =
    ctx.deviceService ??
    new SiteDevices({
      store: ctx.store,
      sites: ctx.sites,
      ...(ctx.devices ? { host: ctx.devices } : {}),
      ...(ctx.opcuaPkiDir ? { pkiDir: ctx.opcuaPkiDir } : {}),
      ...(ctx.configuredGateways ? { gateways: ctx.configuredGateways } : {}),
      ...(ctx.devicePolicies ? { policies: ctx.devicePolicies } : {}),
    });
  await app.register(deviceRoutes(ctx, services, devices));
  await app.register(writeRoutes(ctx));
  await app.register(billRoutes(ctx));
  await app.register(erasureRoutes(ctx, services));
  await app.register(planRoutes(ctx));
  await app.register(savingsRoutes(ctx));
  await app.register(await webRoutes());
  return app;
}
