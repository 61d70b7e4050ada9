import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { listPoints, type Reading } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { roleCookie } from '../testkit/login.js';
import { bernSite, house, testSites } from '../testkit/sites.js';
import { addRoleUsers } from '../testkit/users.js';

const T0 = Date.UTC(2026, 2, 2);
const sites = testSites(
  bernSite({
    buildings: [
      house([
        {
          id: 'bms',
          protocol: 'opcua',
          profile: 'generic',
          connection: {
            endpointUrl: 'opc.tcp://127.0.0.1:4840',
            securityMode: 'SignAndEncrypt',
            securityPolicy: 'Basic256Sha256',
            auth: { type: 'username', username: 'gridflex', password: 'hunter2' },
          },
          points: [{ id: 'temp', kind: 'temperature' }],
        },
      ]),
    ],
  }),
);

let store: Store;
let app: FastifyInstance;
let cookie: string;
const asAdmin = (req: string | InjectOptions) =>
  app.inject(typeof req === 'string' ? { url: req, headers: { cookie } } : { ...req, headers: { cookie } });

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const readings: Reading[] = Array.from({ length: 120 }, (_, i) => ({
    pointId: 'bern/bms/temp',
    ts: T0 + i * 60_000,
    value: 20 + i / 100,
    quality: 'good',
  }));
  await store.readings.describePoints(listPoints(sites));
  await store.readings.ingest(readings);
  app = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
  await addRoleUsers(store);
  cookie = await roleCookie(app, 'admin');
});
afterAll(async () => {
  await app.close();
  await store.close();
});

describe('HTTP API skeleton', () => {
  it('reports health with the store it uses', async () => {
    const res = await app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      version: 'test',
      store: { reachable: true, kind: 'embedded' },
    });
    const admin = await asAdmin('/health');
    expect(admin.json()).toMatchObject({ status: 'ok', store: { reachable: true, flavour: 'plain' } });
  });

  it('lists sites with point keys and without connection secrets', async () => {
    const res = await asAdmin('/api/sites');
    expect(res.statusCode).toBe(200);
    expect(res.json().sites[0].buildings[0].devices[0].points[0]).toEqual({
      key: 'bern/bms/temp',
      id: 'temp',
      kind: 'temperature',
      unit: 'degC',
      writable: false,
    });
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('endpointUrl');
  });

  it('serves a range of readings at a bucket size', async () => {
    const res = await asAdmin({
      url: `/api/points/${encodeURIComponent('bern/bms/temp')}/readings`,
      query: { from: new Date(T0).toISOString(), to: String(T0 + 7_200_000), bucket: '1h' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      pointId: 'bern/bms/temp',
      unit: 'degC',
      bucket: '3600s',
      from: '2026-03-02T00:00:00.000Z',
    });
    expect(body.buckets).toHaveLength(2);
    expect(body.buckets[0]).toMatchObject({ ts: '2026-03-02T00:00:00.000Z', count: 60, min: 20, max: 20.59 });
  });

  it('serves raw readings', async () => {
    const res = await asAdmin({
      url: '/api/points/bern%2Fbms%2Ftemp/readings',
      query: { from: String(T0), to: String(T0 + 180_000), bucket: 'raw' },
    });
    expect(res.json().readings).toEqual([
      { ts: '2026-03-02T00:00:00.000Z', value: 20, quality: 'good' },
      { ts: '2026-03-02T00:01:00.000Z', value: 20.01, quality: 'good' },
      { ts: '2026-03-02T00:02:00.000Z', value: 20.02, quality: 'good' },
    ]);
  });

  it.each([
    [{ from: 'yesterday' }, 'querystring.from', /ISO 8601/],
    [{ from: '2026-03-02T02:00:00Z', to: '2026-03-02T01:00:00Z' }, 'querystring.from', /before `to`/],
    [{ bucket: 'quarter' }, 'querystring.bucket', /Invalid input|duration/],
    [
      { from: '2000-01-02T00:00:00Z', to: String(T0), bucket: '1m' },
      'querystring.bucket',
      /over 10000 buckets/,
    ],
  ])('rejects bad query %j naming the field', async (query, path, message) => {
    const res = await asAdmin({ url: '/api/points/bern%2Fbms%2Ftemp/readings', query });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('GFX_VALIDATION');
    expect(body.details.issues[0].path).toBe(path);
    expect(body.details.issues[0].message).toMatch(message);
    expect(body.message.startsWith(path)).toBe(true);
  });

  it('rejects a malformed point id with 400 and an unknown one with 404', async () => {
    const bad = await asAdmin('/api/points/NOT%20VALID/readings');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.issues[0].path).toBe('params.id');
    const unknown = await asAdmin('/api/points/bern%2Fbms%2Fnope/readings');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: 'GFX_STORE_UNKNOWN_POINT',
      message: 'no readings are stored for point "bern/bms/nope"',
    });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app.inject('/api/nothing');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'GFX_NOT_FOUND', message: 'no route GET /api/nothing' });
  });

  it('serves the OpenAPI document and its UI under /docs', async () => {
    const doc = await app.inject('/docs/json');
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining(['/health', '/api/sites', '/api/points/{id}/readings']),
    );
    const ui = await app.inject('/docs/');
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('hides internals on a 500 and reports degraded health when the store is gone', async () => {
    const broken = await openStore({ dataDir: 'memory://' });
    const app2 = await buildApp({ store: broken, hub: new Hub(), sites, version: 'test' });
    await broken.close();
    const health = await app2.inject('/health');
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'degraded', store: { reachable: false } });
    // A session cookie makes the access check ask the (closed) store.
    const res = await app2.inject({
      url: '/api/points/bern%2Fbms%2Ftemp/readings',
      headers: { cookie: 'gfx_session=x' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toBe('GFX_INTERNAL');
    expect(res.json().message).toMatch(/request id/);
    expect(res.body).not.toMatch(/PGlite|closed|stack/i);
    await app2.close();
  });

  it('refuses to start with a route that does not declare who may call it', async () => {
    const app3 = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
    expect(() => app3.get('/api/undeclared', async () => 'x')).toThrow(/does not declare config.access/);
    await app3.close();
  });
});
