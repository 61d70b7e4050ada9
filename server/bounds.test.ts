import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { listPoints } from '../model/index.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { Hub } from '../stream/index.js';
import { roleCookie } from '../testkit/login.js';
import { bernSite, house, modbusMeter, testSites } from '../testkit/sites.js';
import { addRoleUsers } from '../testkit/users.js';
import { listenOrExplain } from './listen.js';

const sites = testSites(bernSite({ buildings: [house([modbusMeter('meter')])] }));

const T0 = Date.UTC(2026, 2, 2);

for (const backend of testBackends) {
  announceSkip(backend, 'query bounds');
  describe.skipIf(backend.skipReason)(
    `query parameters are bounded and /health is terse (${backend.name})`,
    () => {
      let store: Store;
      let app: FastifyInstance;
      let admin: string;

      beforeAll(async () => {
        store = await backend.open();
        await store.readings.describePoints(listPoints(sites));
        await store.readings.ingest([{ pointId: 'bern/meter/power', ts: T0, value: 1, quality: 'good' }]);
        app = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
        await addRoleUsers(store);
        admin = await roleCookie(app, 'admin');
      }, 60_000);
      afterAll(async () => {
        await app?.close();
        await store?.close();
      });

      it.each([
        [{ bucket: '99999999999999d' }, 'querystring.bucket'],
        [{ bucket: '9007199254740993ms' }, 'querystring.bucket'],
        [{ bucket: '0s' }, 'querystring.bucket'],
        [{ from: '9999999999999999' }, 'querystring.from'],
        [{ to: '9999999999999999' }, 'querystring.to'],
        [{ from: '0001-01-01T00:00:00Z' }, 'querystring.from'],
        [{ to: '9999-12-31T23:59:59Z' }, 'querystring.to'],
        [
          { from: '2026-03-02T00:00:00Z', to: '2026-03-02T01:00:00Z', bucket: '1000000d' },
          'querystring.bucket',
        ],
        [{ from: `2026-03-02T00:00:00${'0'.repeat(200)}Z` }, 'querystring.from'],
      ])('answers the readings query %j with 400 naming %s, not 500', async (query, path) => {
        const res = await app.inject({
          url: '/api/points/bern%2Fmeter%2Fpower/readings',
          query,
          headers: { cookie: admin },
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().details.issues.map((i: { path: string }) => i.path)).toContain(path);
      });

      it('still serves the widest allowed bucket and range', async () => {
        const res = await app.inject({
          url: '/api/points/bern%2Fmeter%2Fpower/readings',
          query: { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', bucket: '366d' },
          headers: { cookie: admin },
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(1);
      });

      it('answers extreme paging of the writes and audit lists with 400, not 500', async () => {
        for (const url of [
          '/api/sites/bern/writes?offset=99999999999999999999',
          '/api/sites/bern/writes?limit=0',
          '/api/audit?limit=1e9',
        ]) {
          const res = await app.inject({ url, headers: { cookie: admin } });
          expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
        }
      });

      it('tells an anonymous caller of /health only the kind of store; an admin gets where it is', async () => {
        const anonymous = await app.inject('/health');
        expect(anonymous.statusCode).toBe(200);
        expect(anonymous.json()).toEqual({
          status: 'ok',
          version: 'test',
          store: { reachable: true, kind: backend.name === 'postgres' ? 'postgresql' : 'embedded' },
        });
        expect(anonymous.body).not.toContain(store.description);
        const manager = await roleCookie(app, 'manager');
        expect(
          (await app.inject({ url: '/health', headers: { cookie: manager } })).json().store,
        ).not.toHaveProperty('description');
        const asAdmin = await app.inject({ url: '/health', headers: { cookie: admin } });
        expect(asAdmin.json().store).toMatchObject({
          description: store.description,
          flavour: store.flavour,
        });
      });
    },
  );
}

describe('listening on a busy port', () => {
  it('is one clear line naming the address (GFX_PORT_IN_USE), and the app still closes', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const { openStore } = await import('../store/index.js');
    const store = await openStore({ dataDir: 'memory://' });
    const app = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
    try {
      const err = await listenOrExplain(app, { host: '127.0.0.1', port }).then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).toBe('GFX_PORT_IN_USE');
      expect(err?.message).toBe(
        `127.0.0.1:${port} is already in use (another Gridflex running?); stop it or choose another --port`,
      );
    } finally {
      await app.close();
      await store.close();
      squatter.close();
    }
  });
});
