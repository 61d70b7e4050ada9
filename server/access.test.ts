import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { bernAndBasel, testSites } from '../testkit/sites.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';
import { declaredRoutes, type Role, RoleSchema } from './access.js';

const sites = testSites(...bernAndBasel());

/** Units and their communities, as the ledger will supply them. */
const COMMUNITY_OF: Record<string, string> = { 'flat-1': 'bern', 'flat-2': 'bern', 'flat-9': 'basel' };

let store: Store;
let app: FastifyInstance;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  app = await buildApp({
    store,
    hub: new Hub(),
    sites,
    version: 'test',
    scopes: { communityOfUnit: async (unit) => COMMUNITY_OF[unit] ?? null },
  });
  // A stand-in for the ledger's bill route, to prove unit scoping before the ledger lands.
  app.get(
    '/api/units/:unit/bill',
    { config: { access: { roles: ['admin', 'resident', 'board'], scope: { kind: 'unit', param: 'unit' } } } },
    async (req) => ({ unit: (req.params as { unit: string }).unit }),
  );
  const auth = await addRoleUsers(store);
  for (const role of RoleSchema.options) {
    tokens[role] = (await auth.createToken(ROLE_USERS[role].username, 'test', false)).token;
  }
});
afterAll(async () => {
  await app.close();
  await store.close();
});

/** A value for each path parameter that no grant of ROLE_USERS covers and no site has (so no stream stays open). */
function outsideEveryGrant(url: string): string {
  return url
    .replace(/:id\b/, encodeURIComponent('elsewhere/meter/power'))
    .replace(/:[a-z]+/gi, 'elsewhere')
    .replace('*', 'index.html');
}

const call = (method: string, url: string, role: Role | null) =>
  app.inject({
    method: method as 'GET',
    url,
    headers: { origin: 'http://localhost', ...(role ? { authorization: `Bearer ${tokens[role]}` } : {}) },
    ...(method === 'GET' || method === 'HEAD' ? {} : { payload: {} }),
  });

describe('access control over every route', () => {
  it('covers a route list in which every route declares who may call it', () => {
    const routes = declaredRoutes(app);
    expect(routes.length).toBeGreaterThan(8);
    for (const r of routes) {
      if ('public' in r.access) continue;
      expect(r.access.roles.length, `${r.method} ${r.url}`).toBeGreaterThan(0);
      for (const role of r.access.roles) expect(RoleSchema.options).toContain(role);
    }
  });

  it('answers 401 without identity, 403 to roles not listed, 404 outside the grant, for every route', async () => {
    const table: string[] = [];
    for (const r of declaredRoutes(app)) {
      const url = outsideEveryGrant(r.url);
      const anonymous = await call(r.method, url, null);
      if ('public' in r.access) {
        expect([401, 403], `${r.method} ${r.url} is public`).not.toContain(anonymous.statusCode);
        continue;
      }
      expect(anonymous.statusCode, `${r.method} ${url} anonymous`).toBe(401);
      for (const role of RoleSchema.options) {
        const res = await call(r.method, url, role);
        const allowed = r.access.roles.includes(role);
        table.push(`${r.method} ${r.url} ${role} ${res.statusCode}`);
        if (!allowed) {
          expect(res.statusCode, `${r.method} ${url} as ${role}`).toBe(403);
          if (r.method !== 'HEAD') expect(res.json().error).toBe('GFX_FORBIDDEN');
        } else if (r.access.scope && role !== 'admin') {
          expect(res.statusCode, `${r.method} ${url} as ${role} outside its grant`).toBe(404);
        } else {
          expect([401, 403], `${r.method} ${url} as ${role}`).not.toContain(res.statusCode);
        }
      }
    }
    expect(table.length).toBeGreaterThan(20);
  });

  it.each([
    ['resident', 'flat-1', 200],
    ['resident', 'flat-2', 404],
    ['board', 'flat-2', 200],
    ['board', 'flat-9', 404],
    ['manager', 'flat-1', 403],
    ['admin', 'flat-9', 200],
  ] as const)('%s asking for the bill of %s gets %i', async (role, unit, status) => {
    const res = await call('GET', `/api/units/${unit}/bill`, role);
    expect(res.statusCode).toBe(status);
    if (status === 404) expect(res.body).not.toContain('"unit"');
  });

  it('scopes readings by the site of the point', async () => {
    const path = (key: string) => `/api/points/${encodeURIComponent(key)}/readings`;
    expect((await call('GET', path('elsewhere/meter/power'), 'manager')).statusCode).toBe(404);
    // Inside the grant the request reaches the store, which knows no such point.
    const inside = await call('GET', path('bern/meter/power'), 'manager');
    expect(inside.statusCode).toBe(404);
    expect(inside.json().error).toBe('GFX_STORE_UNKNOWN_POINT');
  });
});
