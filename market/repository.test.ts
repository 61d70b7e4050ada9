import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import type { Bid } from './bids.js';
import { MarketRepository, migrateMarket } from './repository.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);

const bid = (n: number, kw = 100): Bid => ({
  id: `mfrr:${new Date(T0 + n * H).toISOString()}:0`,
  productId: 'mfrr',
  direction: 'up',
  startMs: T0 + n * H,
  endMs: T0 + (n + 1) * H,
  kw,
  priceCentsPerMwh: 500,
  sites: [{ siteId: 'bern', kw }],
});

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason !== null)(`market repository on ${backend.name}`, () => {
    let store: Store;
    let repo: MarketRepository;
    beforeAll(async () => {
      announceSkip(backend, 'market repository');
      store = await backend.open();
      await migrateMarket(store);
      repo = new MarketRepository(store.db);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('replaces open bids only when asked (version + 1), never an accepted one, and refuses to accept a bid twice', async () => {
      expect(await repo.saveBids('nordic', [bid(0), bid(1)], T0 - H, false)).toEqual({
        ok: true,
        versions: { [bid(0).id]: 1, [bid(1).id]: 1 },
      });
      const obligation = { ...bid(0), sustainMs: 60 * 60_000 };
      expect(await repo.saveObligations('nordic', [obligation], T0 - H / 2)).toBe(true);
      // Not asked to replace: both conflict, nothing changes.
      expect(await repo.saveBids('nordic', [bid(1, 70)], T0 - H / 4, false)).toEqual({
        ok: false,
        conflicts: [{ id: bid(1).id, accepted: false, version: 1 }],
      });
      // Asked to: the open bid is replaced, the accepted one is a conflict and the whole batch is refused.
      expect(await repo.saveBids('nordic', [bid(0, 50), bid(1, 70)], T0 - H / 4, true)).toEqual({
        ok: false,
        conflicts: [{ id: bid(0).id, accepted: true, version: 1 }],
      });
      expect(await repo.saveBids('nordic', [bid(1, 70)], T0 - H / 4, true)).toEqual({
        ok: true,
        versions: { [bid(1).id]: 2 },
      });
      const stored = await repo.bids('nordic', { fromMs: T0, toMs: T0 + 2 * H });
      expect(stored.map((s) => [s.bid.kw, s.accepted, s.version])).toEqual([
        [100, true, 1],
        [70, false, 2],
      ]);
      const before = await repo.counts();
      expect(await repo.saveObligations('nordic', [{ ...bid(1, 70), sustainMs: 1 }, obligation], T0)).toBe(
        false,
      );
      expect(await repo.counts()).toEqual(before);
      expect((await repo.bidsById('nordic', [bid(1).id]))[0]!.accepted).toBe(false);
      expect(await repo.obligations('nordic', { fromMs: T0 + H / 2, toMs: T0 + H })).toHaveLength(1);
      expect(await repo.obligations('other', { fromMs: T0, toMs: T0 + H })).toHaveLength(0);
    });

    it('keeps one activation per operator id and records each state once, never leaving a final state', async () => {
      const request = { id: 'a-1', productId: 'mfrr', startMs: T0, durationMs: H, kw: 50 };
      const plan = {
        ...request,
        direction: 'up' as const,
        fullByMs: T0 + 1,
        endMs: T0 + H,
        sites: [{ siteId: 'bern', kw: 50 }],
        warnings: [],
      };
      const row = {
        id: 'a-1',
        portfolioId: 'nordic',
        productId: 'mfrr',
        kind: 'activation' as const,
        bodyHash: 'h1',
        request,
        plan,
        requestedBy: 'ops',
        receivedMs: T0,
      };
      const first = await repo.insertActivation(row);
      expect(first.created).toBe(true);
      const again = await repo.insertActivation({ ...row, bodyHash: 'h2' });
      expect(again).toMatchObject({ created: false, record: { bodyHash: 'h1', state: 'received' } });
      expect(await repo.setState('a-1', 'active', T0 + 5, null)).toBe(true);
      expect(await repo.setState('a-1', 'active', T0 + 6, null)).toBe(false);
      expect(await repo.setState('a-1', 'cancelled', T0 + 7, 'operator cancelled')).toBe(true);
      expect(await repo.setState('a-1', 'completed', T0 + 8, null)).toBe(false);
      expect((await repo.history('a-1')).map((h) => h.state)).toEqual(['received', 'active', 'cancelled']);
      expect(await repo.activation('a-1')).toMatchObject({
        state: 'cancelled',
        message: 'operator cancelled',
        plan,
      });
      expect(await repo.openActivations()).toEqual([]);

      await repo.saveSnapshot({ activationId: 'a-1', state: 'active', sites: [], updatedMs: T0 + 5 });
      await repo.saveSnapshot({ activationId: 'a-1', state: 'done', sites: [], updatedMs: T0 + 9 });
      expect((await repo.latestSnapshot('a-1'))?.state).toBe('done');

      const rows = [{ activationId: 'a-1', siteId: 'portfolio', deliveredWh: 1 }] as never;
      // The same activation's report twice: the later one is the one kept.
      for (const [baseline, createdMs] of [
        [{ method: 'meter_before' }, T0 + 2 * H],
        [{ method: 'meter_before', late: true }, T0 + 3 * H],
      ] as const)
        await repo.saveReport({
          activationId: 'a-1',
          portfolioId: 'nordic',
          productId: 'mfrr',
          startMs: T0,
          endMs: T0 + H,
          rows,
          baseline,
          createdMs,
        });
      const reports = await repo.reports('nordic', { fromMs: T0, toMs: T0 + H });
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ createdMs: T0 + 3 * H, baseline: { late: true }, rows });
    });
  });
}
