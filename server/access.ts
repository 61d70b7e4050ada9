import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { covers, type Identity, type ScopeResolver } from './auth/identity.js';
import type { AuthRepository } from './auth/repository.js';
import type { Role } from './auth/roles.js';
import type { ErrorBody } from './errors.js';

export { type Role, RoleSchema } from './auth/roles.js';

export type ScopeKind = 'site' | 'unit' | 'community' | 'portfolio' | 'market';

/**
 * What a route's caller must hold. `scope` names the route parameter that identifies the
 * object asked for (a site, a unit, a community, a portfolio), which the caller's grant
 * must cover; a caller outside it gets 404, so the object's existence is not revealed.
 * `of: 'point'` says the parameter is a point key (`site/device/point`) whose site is checked.
 */
export type AccessRule =
  | { public: true }
  | { roles: readonly Role[]; scope?: { kind: ScopeKind; param: string; of?: 'point' } };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    /** The caller, once `enforceAccess` has run; always null on public routes. */
    identity: Identity | null;
  }
}

/** Routes served by plugins we do not write (the OpenAPI UI), which are public by nature. */
const EXEMPT = [/^\/docs(\/|$)/];

export interface DeclaredRoute {
  method: string;
  url: string;
  access: AccessRule;
}

const declared = new WeakMap<FastifyInstance, DeclaredRoute[]>();

/** Every route with its rule, in registration order (the access table test walks this list). */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return declared.get(app) ?? [];
}

/** Every route must say who may call it; a route without a rule fails at startup, not in production. */
export function requireAccessRules(app: FastifyInstance): void {
  const list: DeclaredRoute[] = [];
  declared.set(app, list);
  app.addHook('onRoute', (route: RouteOptions) => {
    if (EXEMPT.some((re) => re.test(route.url))) return;
    if (!route.config || !('access' in route.config) || route.config.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} does not declare config.access (who may call it)`);
    }
    for (const method of [route.method].flat())
      list.push({ method, url: route.url, access: route.config.access });
  });
}

export const SESSION_COOKIE = 'gfx_session';

export function readCookie(req: FastifyRequest, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CSRF defence for cookie-authenticated requests: SameSite=Strict cookies, plus an Origin
 * check on every state-changing request. The browser sets `Origin` (or at least `Referer`)
 * on cross-site and same-site POSTs alike and a page cannot forge it, so a request that
 * names another origin, or names none, is refused. Requests carrying an API token in
 * `Authorization` are exempt: browsers never attach that header on their own.
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const claimed = originOf(req.headers.origin ?? req.headers.referer);
  return claimed !== null && claimed === originOf(`${req.protocol}://${req.host}`);
}

/** The normalised origin of a URL (`http://h:80/x` → `http://h`); null when it has none. */
function originOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

function refuse(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ error, message } satisfies ErrorBody);
}

/** Who the caller is: an API token in `Authorization: Bearer`, else the session cookie. */
export async function identify(req: FastifyRequest, auth: AuthRepository): Promise<Identity | null> {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return auth.resolveToken(header.slice(7).trim());
  const session = readCookie(req, SESSION_COOKIE);
  return session ? auth.resolveSession(session) : null;
}

/**
 * Enforce each route's `config.access`: 401 without an identity, 403 for a role the rule does
 * not list (or a read-only token on a state-changing request, or a failed Origin check), 404
 * when the scope parameter lies outside the caller's grants.
 */
export function enforceAccess(app: FastifyInstance, auth: AuthRepository, resolver: ScopeResolver): void {
  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (req, reply) => {
    const rule = req.routeOptions.config?.access;
    if (!rule) return;
    const bearer = req.headers.authorization?.startsWith('Bearer ') ?? false;
    if (UNSAFE.has(req.method) && !bearer && !sameOrigin(req)) {
      return refuse(
        reply,
        403,
        'GFX_CSRF',
        'this request did not come from a Gridflex page (Origin check failed)',
      );
    }
    // Public routes (static files, health, login) never need the caller: spare the store.
    if ('public' in rule) return;
    req.identity = await identify(req, auth);
    if (!req.identity) {
      return refuse(reply, 401, 'GFX_AUTH_REQUIRED', 'please log in (or send an API token) to use this');
    }
    if (!rule.roles.includes(req.identity.role)) {
      return refuse(reply, 403, 'GFX_FORBIDDEN', `this is not available to the ${req.identity.role} role`);
    }
    if (UNSAFE.has(req.method) && req.identity.readOnly) {
      return refuse(reply, 403, 'GFX_TOKEN_READ_ONLY', 'this API token is read-only');
    }
  });
  // Before validation: a caller outside the grant learns nothing, not even that a query is malformed.
  app.addHook('preValidation', async (req, reply) => {
    const rule = req.routeOptions.config?.access;
    if (!rule || 'public' in rule || !rule.scope || !req.identity) return;
    const raw = (req.params as Record<string, unknown>)[rule.scope.param];
    const value = typeof raw === 'string' ? raw : '';
    const ref = rule.scope.of === 'point' ? (value.split('/')[0] ?? '') : value;
    if (!(await covers(req.identity, rule.scope.kind, ref, resolver))) {
      return refuse(reply, 404, 'GFX_NOT_FOUND', `no ${rule.scope.of ?? rule.scope.kind} "${value}"`);
    }
  });
}
