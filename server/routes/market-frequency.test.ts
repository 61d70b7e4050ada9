import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import type { Obligation } from '../../market/bids.js';
import { MarketRepository, migrateMarket } from '../../market/repository.js';
import { proofPoints } from '../../market/runtime/proof-log.js';
import { fixtureService, fixtureSites, MemoryExecutor } from '../../market/service.fixtures.js';
import { storeProof } from '../../market/start.js';
import type { Reading } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { Hub } from '../../stream/index.js';
import { addRoleUsers, ROLE_USERS } from '../../testkit/users.js';

/**
 * The hourly FCR settlement (issue #13 item 5) over HTTP: an FCR-N obligation of the `alpine`
 * portfolio for one hour, the proof the droop would have stored for it (requested and delivered,
 * W, every second), and the row the operator gets for that hour.
 */
const H = 3_600_000;
const H0 = Date.UTC(2026, 10, 22, 9);
const iso = (ms: number) => new Date(ms).toISOString();

for (const backend of testBackends.filter((b) => b.name !== 'pglite-timescale')) {
  describe.skipIf(backend.skipReason !== null)(`FCR settlement API on ${backend.name}`, () => {
    let store: Store;
    let app: FastifyInstance;
    let clock = H0 + 30 * 60_000;
    const auth = {} as Record<'operator' | 'manager', string>;

    beforeAll(async () => {
      announceSkip(backend, 'FCR settlement API');
      store = await backend.open();
      await migrateMarket(store);
      const repo = new MarketRepository(store.db);
      const executor = new MemoryExecutor(() => clock);
      const market = await fixtureService({ repo, executor, now: () => clock, proof: storeProof(store) });
      app = await buildApp({ store, hub: new Hub(), sites: fixtureSites, version: 'test', market });
      const users = await addRoleUsers(store);
      for (const role of ['operator', 'manager'] as const)
        auth[role] = `Bearer ${(await users.createToken(ROLE_USERS[role].username, 'test', false)).token}`;
      // Sold the day before: 100 kW symmetric, 60 kW of it from bern.
      const sold: Obligation = {
        id: `fcr-n:${iso(H0)}:0`,
        productId: 'fcr-n',
        direction: 'symmetric',
        startMs: H0,
        endMs: H0 + H,
        kw: 100,
        priceCentsPerMwh: 2000,
        sites: [
          { siteId: 'bern', kw: 60 },
          { siteId: 'basel', kw: 40 },
        ],
        sustainMs: H + 3 * 60_000,
      };
      expect(await repo.saveBids('alpine', [sold], H0 - 24 * H, false)).toMatchObject({ ok: true });
      expect(await repo.saveObligations('alpine', [sold], H0 - 24 * H)).toBe(true);
      // bern's proof: 20 min at +6 kW asked (5.4 kW delivered), 20 min at −3 kW (3 kW
      // delivered), then nothing stored (the controller was down). basel stored none.
      const [, requested, , delivered] = proofPoints('bern');
      await store.readings.describePoints(proofPoints('bern').map((p) => ({ ...p })));
      const readings: Reading[] = [];
      for (let t = H0; t < H0 + 40 * 60_000; t += 1000) {
        const first = t < H0 + 20 * 60_000;
        readings.push(
          { pointId: requested.key, ts: t, value: first ? 6000 : -3000, quality: 'good' },
          { pointId: delivered.key, ts: t, value: first ? 5400 : -3000, quality: 'good' },
        );
      }
      await store.readings.ingest(readings);
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    const get = (url: string, who: keyof typeof auth = 'operator') =>
      app.inject({ method: 'GET', url, headers: { origin: 'http://localhost', authorization: auth[who] } });
    const url = `/api/portfolios/alpine/frequency-settlement?from=${iso(H0)}&to=${iso(H0 + H)}`;

    it('settles each site of the hour from its stored proof, and a site without proof as uncovered', async () => {
      clock = H0 + H + 60_000;
      const res = await get(url);
      expect(res.statusCode, res.body).toBe(200);
      const rows = (res.json() as { rows: Record<string, unknown>[] }).rows;
      expect(rows).toEqual([
        {
          obligationId: `fcr-n:${iso(H0)}:0`,
          productId: 'fcr-n',
          siteId: 'bern',
          start: iso(H0),
          end: iso(H0 + H),
          heldKw: 60,
          // 40 min of samples, each holding 5 s after the last one.
          coveredS: 40 * 60 + 5,
          requestedWh: 3_004, // 6 kW × 1/3 h + 3 kW × (1/3 h + 5 s)
          deliveredWh: 2_804, // 5.4 kW × 1/3 h + 3 kW × (1/3 h + 5 s)
          performanceRatio: 0.9334,
          deliveryMeteredS: 40 * 60 + 5,
        },
        expect.objectContaining({ siteId: 'basel', heldKw: 40, coveredS: 0, performanceRatio: null }),
      ]);
    });

    it('settles an hour under way only as far as it has gone, and none that has not begun', async () => {
      clock = H0 + 10 * 60_000;
      const bern = ((await get(url)).json() as { rows: { siteId: string; end: string; coveredS: number }[] })
        .rows[0]!;
      expect(bern.end).toBe(iso(clock));
      expect(bern.coveredS).toBe(10 * 60);
      clock = H0 - 60_000;
      expect(((await get(url)).json() as { rows: unknown[] }).rows).toEqual([]);
    });

    it('is the operator’s: a manager of a site in it is refused', async () => {
      expect((await get(url, 'manager')).statusCode).toBe(403);
    });
  });
}
