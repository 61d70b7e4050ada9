import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Obligation as SoldCapacity } from '../market/bids.js';
import type { RunningMarket } from '../market/start.js';
import type { Site } from '../model/index.js';
import type { Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { exampleMarket } from '../testkit/market.js';
import { siteObligations$, siteReserve } from './market-obligations.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);

const sold = (direction: 'up' | 'down' | 'symmetric'): SoldCapacity => ({
  id: `fcr-n:${T0}:0`,
  productId: 'fcr-n',
  direction,
  startMs: T0,
  endMs: T0 + H,
  kw: 7,
  priceCentsPerMwh: 1000,
  sites: [
    { siteId: 'zev-bern', kw: 4 },
    { siteId: 'elsewhere', kw: 3 },
  ],
  sustainMs: 20 * 60_000,
});

describe('siteReserve', () => {
  it("keeps the site's share free in the sold direction, both ways for a symmetric product", () => {
    expect(siteReserve(sold('up'), 'zev-bern')?.reserve).toEqual({
      upKw: 4,
      downKw: 0,
      sustainMinutes: 20,
      product: 'fcr-n',
    });
    expect(siteReserve(sold('down'), 'zev-bern')?.reserve).toMatchObject({ upKw: 0, downKw: 4 });
    expect(siteReserve(sold('symmetric'), 'elsewhere')?.reserve).toMatchObject({ upKw: 3, downKw: 3 });
    expect(siteReserve(sold('up'), 'other-site')).toBeNull();
  });
});

describe('siteObligations$', () => {
  // Bids are sold before their hour, activated inside it.
  let clock = T0 - 60_000;
  let store: Store;
  let sites: Site[];
  let market: RunningMarket;
  const hub = new Hub();

  beforeAll(async () => {
    ({ store, sites, market } = await exampleMarket({ hub, now: () => clock, plans: async () => null }));
  });
  afterAll(async () => {
    await market?.stop();
    await store?.close();
  });

  it('gives the live optimiser the accepted bids of the site, re-read when the market publishes', async () => {
    const obligations$ = siteObligations$(market, hub, 'zev-bern', { now: () => T0 + 60_000, everyMs: H });
    expect(await firstValueFrom(obligations$)).toEqual([]);

    const battery = sites[0]!.buildings.flatMap((b) => b.assets).find((x) => x.type === 'battery')!;
    const soc = battery.type === 'battery' ? battery.measure.soc! : '';
    await store.readings.ingest([{ pointId: soc, ts: T0 - 90_000, value: 90, quality: 'good' }]);
    const { bids } = await market.service.buildBids(
      'demo',
      'dr-event',
      { fromMs: T0, toMs: T0 + H },
      { kind: 'fixed', priceCentsPerMwh: 1000 },
    );
    expect(bids.length).toBeGreaterThan(0);

    const seen: (readonly unknown[])[] = [];
    const sub = obligations$.subscribe((list) => seen.push(list));
    try {
      await market.service.accept('demo', 'dr-event', [{ bidId: bids[0]!.id }]);
      clock = T0 + 60_000;
      // Any update the market publishes on the hub (here an activation's) makes the list re-read.
      await market.service.activate(
        'demo',
        { id: 'dr-obl-1', productId: 'dr-event', kw: 1, durationMs: 15 * 60_000 },
        'operator',
      );
      const until = Date.now() + 30_000;
      while ((seen.at(-1)?.length ?? 0) === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      sub.unsubscribe();
    }
    const list = seen.at(-1) ?? [];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: bids[0]!.id,
      startMs: bids[0]!.startMs,
      endMs: bids[0]!.endMs,
      reserve: { upKw: bids[0]!.kw, downKw: 0, product: 'dr-event' },
    });
  });
});
