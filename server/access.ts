import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';

/** Who may call what. See server/README.md for what each role sees. */
export const RoleSchema = z.enum(['admin', 'manager', 'operator', 'resident', 'board']);
export type Role = z.infer<typeof RoleSchema>;

/**
 * What a route's caller must hold. `scope` names the route parameter that identifies the
 * object asked for (a site, a unit, a community, a portfolio), which the caller's grant
 * must cover; a caller outside it gets 404, so the object's existence is not revealed.
 */
export type AccessRule =
  | { public: true }
  | { roles: readonly Role[]; scope?: { kind: 'site' | 'unit' | 'community' | 'portfolio'; param: string } };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
}

/** Routes served by plugins we do not write (the OpenAPI UI), which are public by nature. */
const EXEMPT = [/^\/docs(\/|$)/];

/** Every route must say who may call it; a route without a rule fails at startup, not in production. */
export function requireAccessRules(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (EXEMPT.some((re) => re.test(route.url))) return;
    if (!route.config || !('access' in route.config) || route.config.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} does not declare config.access (who may call it)`);
    }
  });
}
