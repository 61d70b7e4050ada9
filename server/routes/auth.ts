import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RoleSchema, readCookie, SESSION_COOKIE } from '../access.js';
import { GrantSchema, type Identity } from '../auth/identity.js';
import type { Services } from '../services.js';

export const ALL_ROLES = RoleSchema.options;

const MeSchema = z.object({
  username: z.string(),
  displayName: z.string().nullable(),
  role: RoleSchema,
  grants: z.array(GrantSchema),
  via: z.enum(['session', 'token']),
});
const me = (who: Identity) => ({
  username: who.username,
  displayName: who.displayName,
  role: who.role,
  grants: who.grants,
  via: who.via,
});

const ErrorSchema = z.object({ error: z.string(), message: z.string() });

function sessionCookie(req: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
}

function tooMany(reply: FastifyReply, waitMs: number) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .send({
      error: 'GFX_AUTH_RATE_LIMITED',
      message: `too many failed logins; try again in ${Math.ceil(seconds / 60)} minute(s)`,
    });
}

/** Log in (session cookie), log out, and "who am I". */
export function authRoutes(s: Services): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'Log in with username and password; sets an HttpOnly session cookie',
          tags: ['auth'],
          body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
          response: { 200: z.object({ user: MeSchema }), 401: ErrorSchema, 429: ErrorSchema },
        },
      },
      async (req, reply) => {
        const username = req.body.username.trim().toLowerCase();
        const now = Date.now();
        // Counted before the hash, in the same synchronous step as the check (LoginThrottle).
        const wait = s.throttle.attempt(username, req.ip, now);
        if (wait > 0) {
          await s.audit.append({ actor: username, action: 'login', outcome: 'refused', ip: req.ip });
          return tooMany(reply, wait);
        }
        const who = await s.auth.checkPassword(username, req.body.password);
        if (!who) {
          await s.audit.append({ actor: username, action: 'login', outcome: 'failed', ip: req.ip });
          return reply
            .code(401)
            .send({ error: 'GFX_AUTH_FAILED', message: 'the username or the password is not right' });
        }
        s.throttle.succeed(username, req.ip, now);
        const secret = await s.auth.createSession(who.userId, s.settings.sessionTtlMs);
        await s.audit.append({ actor: who.username, action: 'login', ip: req.ip });
        reply.header('set-cookie', sessionCookie(req, secret, Math.floor(s.settings.sessionTtlMs / 1000)));
        return { user: me(who) };
      },
    );

    app.post(
      '/api/auth/logout',
      {
        config: { access: { roles: ALL_ROLES } },
        schema: { summary: 'End this session', tags: ['auth'], response: { 204: z.null() } },
      },
      async (req, reply) => {
        const secret = readCookie(req, SESSION_COOKIE);
        if (secret) await s.auth.endSession(secret);
        await s.audit.append({ actor: req.identity!.username, action: 'logout', ip: req.ip });
        reply.header('set-cookie', sessionCookie(req, '', 0));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/me',
      {
        config: { access: { roles: ALL_ROLES } },
        schema: { summary: 'The caller: role and grants', tags: ['auth'], response: { 200: MeSchema } },
      },
      async (req) => me(req.identity!),
    );

    app.get(
      '/api/audit',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          summary: 'The most recent audit log entries (logins, config changes, setpoint writes, activations)',
          tags: ['auth'],
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
          response: {
            200: z.object({
              entries: z.array(
                z.object({
                  id: z.number(),
                  ts: z.string(),
                  actor: z.string().nullable(),
                  action: z.string(),
                  target: z.string().nullable(),
                  outcome: z.string(),
                  ip: z.string().nullable(),
                  details: z.record(z.string(), z.unknown()).nullable(),
                }),
              ),
            }),
          },
        },
      },
      async (req) => ({ entries: await s.audit.recent(req.query.limit) }),
    );
  };
}
