import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { Hub } from '../stream/index.js';
import { loginCookie } from '../testkit/login.js';
import { bernAndBasel, testSites } from '../testkit/sites.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';
import { AuditLog } from './audit.js';
import type { AuthRepository } from './auth/repository.js';

const sites = testSites(...bernAndBasel());

const ORIGIN = { origin: 'http://localhost' };
const { manager } = ROLE_USERS;

for (const backend of testBackends) {
  announceSkip(backend, 'server auth');
  describe.skipIf(backend.skipReason)(`authentication on ${backend.name}`, () => {
    let store: Store;
    let app: FastifyInstance;
    let auth: AuthRepository;

    beforeAll(async () => {
      store = await backend.open();
      app = await buildApp({
        store,
        hub: new Hub(),
        sites,
        version: 'test',
        auth: { loginMaxFailures: 3, loginMaxFailuresPerAddress: 100 },
      });
      auth = await addRoleUsers(store);
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    const login = (username: string, password: string, headers: Record<string, string> = ORIGIN) =>
      app.inject({ method: 'POST', url: '/api/auth/login', headers, payload: { username, password } });

    it('logs in with a HttpOnly SameSite=Strict cookie, shows who is logged in, and logs out', async () => {
      const res = await login('MAX ', manager.password);
      expect(res.statusCode).toBe(200);
      expect(res.json().user).toEqual({
        username: 'max',
        displayName: null,
        role: 'manager',
        grants: [{ kind: 'site', ref: 'bern' }],
        via: 'session',
      });
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^gfx_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      const cookie = setCookie.split(';')[0]!;
      // Only the hash of the session id is stored.
      const stored = await store.db.query<{ id_hash: string }>('SELECT id_hash FROM auth_sessions');
      expect(stored.rows.map((r) => r.id_hash)).not.toContain(cookie.split('=')[1]);
      const me = await app.inject({ url: '/api/me', headers: { cookie } });
      expect(me.json().username).toBe('max');
      const sitesRes = await app.inject({ url: '/api/sites', headers: { cookie } });
      expect(sitesRes.json().sites.map((s: { id: string }) => s.id)).toEqual(['bern']);
      const out = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { cookie, ...ORIGIN },
      });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers['set-cookie'])).toMatch(/gfx_session=; .*Max-Age=0/);
      expect((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode).toBe(401);
    });

    it('marks the cookie Secure over HTTPS', async () => {
      const app2 = await buildApp({ store, hub: new Hub(), sites, version: 'test' }, { trustProxy: true });
      const res = await app2.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: {
          host: 'gridflex.example',
          origin: 'https://gridflex.example',
          'x-forwarded-proto': 'https',
        },
        payload: { username: 'max', password: manager.password },
      });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
      await app2.close();
    });

    it('refuses a wrong password and an unknown user alike, and audits both', async () => {
      const wrong = await login('ada', 'nope');
      const unknown = await login('nobody', 'nope');
      for (const res of [wrong, unknown]) {
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({
          error: 'GFX_AUTH_FAILED',
          message: 'the username or the password is not right',
        });
      }
      const log = await new AuditLog(store.db).recent(10);
      expect(log.filter((e) => e.action === 'login' && e.outcome === 'failed').map((e) => e.actor)).toEqual(
        expect.arrayContaining(['ada', 'nobody']),
      );
      expect(log.some((e) => e.action === 'login' && e.outcome === 'ok' && e.actor === 'max')).toBe(true);
    });

    it('rate-limits failed logins per (username, address), even with the right password, with Retry-After', async () => {
      for (let i = 0; i < 3; i++) expect((await login('bob', 'bad')).statusCode).toBe(401);
      const limited = await login('bob', ROLE_USERS.board.password);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(50);
      expect(limited.json().error).toBe('GFX_AUTH_RATE_LIMITED');
    });

    it('counts parallel wrong passwords before hashing: of 40 at once, only the allowed 5 are tried', async () => {
      const app2 = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          app2.inject({
            method: 'POST',
            url: '/api/auth/login',
            headers: ORIGIN,
            remoteAddress: '10.9.9.9',
            payload: { username: 'rita', password: 'guess-guess' },
          }),
        ),
      );
      const codes = results.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 401)).toHaveLength(5);
      expect(codes.filter((c) => c === 429)).toHaveLength(35);
      await app2.close();
    });

    it('does not let a stranger lock a resident out: five wrong passwords from elsewhere leave her login working', async () => {
      const app2 = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
      const attempt = (password: string, remoteAddress: string) =>
        app2.inject({
          method: 'POST',
          url: '/api/auth/login',
          headers: ORIGIN,
          remoteAddress,
          payload: { username: 'rita', password },
        });
      for (let i = 0; i < 5; i++) expect((await attempt('guess-guess', '203.0.113.7')).statusCode).toBe(401);
      expect((await attempt('guess-guess', '203.0.113.7')).statusCode).toBe(429);
      expect((await attempt(ROLE_USERS.resident.password, '192.0.2.10')).statusCode).toBe(200);
      await app2.close();
    });

    it('rate-limits failed logins per client address across usernames', async () => {
      const app2 = await buildApp({
        store,
        hub: new Hub(),
        sites,
        version: 'test',
        auth: { loginMaxFailures: 100, loginMaxFailuresPerAddress: 2 },
      });
      const attempt = (username: string, remoteAddress: string) =>
        app2.inject({
          method: 'POST',
          url: '/api/auth/login',
          headers: ORIGIN,
          remoteAddress,
          payload: { username, password: 'guess' },
        });
      expect((await attempt('u1', '10.0.0.1')).statusCode).toBe(401);
      expect((await attempt('u2', '10.0.0.1')).statusCode).toBe(401);
      expect((await attempt('u3', '10.0.0.1')).statusCode).toBe(429);
      expect((await attempt('u3', '10.0.0.2')).statusCode).toBe(401);
      await app2.close();
    });

    it('refuses state-changing requests from another origin or without one (CSRF)', async () => {
      const cookie = await loginCookie(app, 'max', manager.password);
      const bad: Record<string, string>[] = [
        {},
        { origin: 'https://evil.example' },
        { referer: 'http://evil.example/x' },
      ];
      for (const headers of bad) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/auth/logout',
          headers: { cookie, ...headers },
        });
        expect(res.statusCode).toBe(403);
        expect(res.json().error).toBe('GFX_CSRF');
        const loginRes = await login('max', manager.password, headers);
        expect(loginRes.statusCode).toBe(403);
      }
      const viaReferer = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { cookie, referer: 'http://localhost/#/site/bern' },
      });
      expect(viaReferer.statusCode).toBe(204);
    });

    it('accepts hashed, scoped, revocable API tokens; read-only ones cannot change anything', async () => {
      const rw = await auth.createToken('max', 'scada', false);
      const ro = await auth.createToken('max', 'dashboard', true);
      expect(rw.token).toMatch(/^gfx_[0-9a-f]{12}_[\w-]{43}$/);
      const rows = await store.db.query<{ secret_hash: string }>('SELECT secret_hash FROM auth_tokens');
      expect(rows.rows.some((r) => rw.token.includes(r.secret_hash))).toBe(false);
      const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
      const sitesRes = await app.inject({ url: '/api/sites', headers: bearer(ro.token) });
      expect(sitesRes.json().sites.map((s: { id: string }) => s.id)).toEqual(['bern']);
      expect((await app.inject({ url: '/api/me', headers: bearer(ro.token) })).json().via).toBe('token');
      const roPost = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(ro.token) });
      expect(roPost.statusCode).toBe(403);
      expect(roPost.json().error).toBe('GFX_TOKEN_READ_ONLY');
      // A token is not a browser credential, so it needs no Origin.
      expect(
        (await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(rw.token) })).statusCode,
      ).toBe(204);
      const tampered = `${rw.token.slice(0, -2)}xx`;
      expect((await app.inject({ url: '/api/me', headers: bearer(tampered) })).statusCode).toBe(401);
      expect(await auth.revokeToken(rw.id)).toBe(true);
      expect((await app.inject({ url: '/api/me', headers: bearer(rw.token) })).statusCode).toBe(401);
      const listed = (await auth.listUsers()).find((u) => u.username === 'max')!;
      expect(listed.tokens.map((t) => [t.name, t.revoked, t.readOnly])).toEqual([
        ['scada', true, false],
        ['dashboard', false, true],
      ]);
    });

    it('refuses grants that do not fit the role', async () => {
      await expect(
        auth.addUser({
          username: 'ruth',
          role: 'resident',
          grants: [{ kind: 'site', ref: 'bern' }],
          password: 'x',
        }),
      ).rejects.toThrow(/resident may be granted unit only/);
      await expect(
        auth.addUser({
          username: 'ruth',
          role: 'resident',
          grants: [
            { kind: 'unit', ref: 'a' },
            { kind: 'unit', ref: 'b' },
          ],
        }),
      ).rejects.toThrow(/exactly one unit/);
      await expect(auth.addUser({ ...ROLE_USERS.admin })).rejects.toThrow(/already exists/);
    });

    it('sends security headers on pages and API answers', async () => {
      for (const url of ['/api/sites', '/health', '/']) {
        const res = await app.inject(url);
        expect(res.headers['content-security-policy'], url).toMatch(
          /default-src 'self'.*frame-ancestors 'none'/,
        );
        expect(res.headers['x-content-type-options'], url).toBe('nosniff');
        expect(res.headers['referrer-policy'], url).toBe('no-referrer');
        expect(res.headers['x-frame-options'], url).toBe('DENY');
      }
      expect((await app.inject('/api/sites')).headers['cache-control']).toBe('no-store');
    });
  });
}
