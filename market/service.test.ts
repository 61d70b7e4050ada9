import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { MarketRepository, migrateMarket } from './repository.js';
import { fixtureMeter, fixtureService, MemoryExecutor } from './service.fixtures.js';
import type { MarketService, MarketUpdate } from './service.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);

let store: Store;
let repo: MarketRepository;
let clock: number;
let executor: MemoryExecutor;
let service: MarketService;
let updates: MarketUpdate[];

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateMarket(store);
  repo = new MarketRepository(store.db);
});
afterAll(async () => {
  await store.close();
});
beforeEach(async () => {
  await store.db.exec(
    'TRUNCATE market_reports, market_execution_snapshots, market_activation_events, market_activations, market_obligations, market_bids',
  );
  // Bids are built and accepted before their hour starts; `holdMfrr` then moves into it.
  clock = T0 - 30 * 60_000;
  executor = new MemoryExecutor(() => clock);
  updates = [];
  service = await fixtureService({ repo, executor, now: () => clock, publish: (u) => updates.push(u) });
});

const hour = { fromMs: T0, toMs: T0 + H };

/** Sell the first mFRR quarter-hour (1000 kW of the 1400 kW the fans can shed), then enter it. */
async function holdMfrr() {
  const { bids } = await service.buildBids('alpine', 'mfrr', hour, { kind: 'fixed', priceCentsPerMwh: 900 });
  const obligations = await service.accept('alpine', 'mfrr', [{ bidId: bids[0]!.id }]);
  clock = T0 + 60_000;
  return obligations;
}

async function expectUnchanged(action: () => Promise<unknown>, kind: ErrorKind, code: string) {
  const before = await repo.counts();
  const started = executor.plans.size;
  await expect(action()).rejects.toMatchObject({ kind, code });
  expect(await repo.counts()).toEqual(before);
  expect(executor.plans.size).toBe(started);
}

describe('market service', () => {
  it('offers the remaining headroom: what another product already holds is not offered again', async () => {
    const before = await service.availability('alpine', 'mfrr', hour);
    expect(before.slots[0]).toMatchObject({ upKw: 1400 });
    const { bids } = await service.buildBids('alpine', 'dr-event', hour, {
      kind: 'fixed',
      priceCentsPerMwh: 100,
    });
    expect(bids).toHaveLength(1);
    await service.accept('alpine', 'dr-event', [{ bidId: bids[0]!.id, acceptedKw: 700 }]);
    const after = await service.availability('alpine', 'mfrr', hour);
    expect(after.slots.map((s) => s.upKw)).toEqual([700, 700, 700, 700]);
    // 1400 kW less 700 held, split by the shares of the bid (800 : 600).
    expect(after.slots[0]!.sites.map((s) => [s.siteId, s.upKw])).toEqual([
      ['bern', 400],
      ['basel', 300],
    ]);
    // Nothing left above the 1 MW minimum: no mFRR bid for that hour.
    const rebid = await service.buildBids('alpine', 'mfrr', hour, { kind: 'fixed', priceCentsPerMwh: 900 });
    expect(rebid.bids).toEqual([]);
    expect(rebid.skipped.map((s) => s.reason)).toContain('below_minimum');
  });

  it('accepts a bid once; a repeated, unknown or oversized acceptance changes nothing', async () => {
    const [obligation] = await holdMfrr();
    expect(obligation).toMatchObject({ kw: 1000, sustainMs: 750_000 + 300_000 });
    await expectUnchanged(
      () => service.accept('alpine', 'mfrr', [{ bidId: obligation!.id }]),
      'conflict',
      'GFX_MARKET_ACCEPTANCE',
    );
    const { bids } = await service.bids('alpine', hour);
    const open = bids.find((b) => !b.accepted)!.bid;
    await expectUnchanged(
      () => service.accept('alpine', 'mfrr', [{ bidId: open.id }, { bidId: 'mfrr:nope:0' }]),
      'input',
      'GFX_MARKET_ACCEPTANCE',
    );
    await expectUnchanged(
      () => service.accept('alpine', 'mfrr', [{ bidId: open.id, acceptedKw: 2000 }]),
      'input',
      'GFX_MARKET_ACCEPTANCE',
    );
    // Another portfolio cannot accept this portfolio's bid.
    await expectUnchanged(
      () => service.accept('nordic', 'mfrr', [{ bidId: open.id }]),
      'input',
      'GFX_MARKET_ACCEPTANCE',
    );
  });

  it('refuses to build or accept bids for a period that has started', async () => {
    const { bids } = await service.buildBids('alpine', 'mfrr', hour, {
      kind: 'fixed',
      priceCentsPerMwh: 900,
    });
    clock = T0 + 15 * 60_000;
    // The second quarter-hour starts now: it is not sold any more.
    await expectUnchanged(
      () => service.accept('alpine', 'mfrr', [{ bidId: bids[1]!.id }]),
      'conflict',
      'GFX_MARKET_PERIOD_STARTED',
    );
    const later = await service.buildBids(
      'alpine',
      'mfrr',
      hour,
      { kind: 'fixed', priceCentsPerMwh: 900 },
      true,
    );
    expect(later.bids.map((b) => b.startMs)).toEqual([T0 + 30 * 60_000, T0 + 45 * 60_000]);
    expect(later.skipped.filter((s) => s.reason === 'started').map((s) => s.startMs)).toEqual([
      T0,
      T0 + 15 * 60_000,
    ]);
  });

  it('re-posting bids is a 409 unless it replaces them explicitly; a replace raises the version, never of an accepted bid', async () => {
    const strategy = { kind: 'fixed', priceCentsPerMwh: 900 } as const;
    const first = await service.buildBids('alpine', 'mfrr', hour, strategy);
    expect(Object.values(first.versions)).toEqual([1, 1, 1, 1]);
    await expectUnchanged(
      () => service.buildBids('alpine', 'mfrr', hour, { ...strategy, priceCentsPerMwh: 800 }),
      'conflict',
      'GFX_MARKET_BID_EXISTS',
    );
    expect((await service.bids('alpine', hour)).bids.map((b) => b.bid.priceCentsPerMwh)).toEqual([
      900, 900, 900, 900,
    ]);
    const replaced = await service.buildBids(
      'alpine',
      'mfrr',
      hour,
      { ...strategy, priceCentsPerMwh: 800 },
      true,
    );
    expect(replaced.versions[first.bids[0]!.id]).toBe(2);
    const stored = (await service.bids('alpine', hour)).bids;
    expect(stored.map((b) => [b.bid.priceCentsPerMwh, b.version])).toEqual([
      [800, 2],
      [800, 2],
      [800, 2],
      [800, 2],
    ]);
    await service.accept('alpine', 'mfrr', [{ bidId: first.bids[0]!.id }]);
    // Sold out for the first quarter-hour: the replace leaves the accepted bid as it was.
    await service.buildBids('alpine', 'mfrr', hour, strategy, true);
    expect(
      (await service.bids('alpine', hour)).bids.map((b) => [b.bid.priceCentsPerMwh, b.version, b.accepted]),
    ).toEqual([
      [800, 2, true],
      [900, 3, false],
      [900, 3, false],
      [900, 3, false],
    ]);
  });

  it('never lets parallel activations claim more than the obligation holds (422 naming it and the kW left)', async () => {
    const [obligation] = await holdMfrr();
    const body = { productId: 'mfrr', durationMs: 600_000 };
    // Posted together: the service takes them one at a time, the third finds 200 kW left.
    const results = await Promise.allSettled([
      service.activate('alpine', { ...body, id: 'P-1', kw: 500 }, null),
      service.activate('alpine', { ...body, id: 'P-2', kw: 300 }, null),
      service.activate('alpine', { ...body, id: 'P-3', kw: 300 }, null),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(refused).toMatchObject({
      kind: 'input',
      code: 'GFX_MARKET_ACTIVATION',
      details: { obligations: [obligation!.id], leftKw: 200 },
    });
    expect(refused.message).toContain(`200 kW left of obligation ${obligation!.id}`);
    expect(executor.plans.size).toBe(2);
    // What is left can still be taken; once P-1 ends its 500 kW are free again.
    await service.activate('alpine', { ...body, id: 'P-4', kw: 200 }, null);
    await service.cancel('alpine', 'P-1', 'olga');
    executor.advance('P-1', 'done');
    clock += 1000;
    await service.tick();
    expect((await service.status('alpine', 'P-1')).activation.state).toBe('cancelled');
    await service.activate('alpine', { ...body, id: 'P-5', kw: 500 }, null);
    expect(executor.plans.size).toBe(4);
  });

  it('dispatches an activation once per id: same body → same activation, other body → 409', async () => {
    await holdMfrr();
    const body = { id: 'A39-1', productId: 'mfrr', durationMs: 10 * 60_000, kw: 800 };
    const first = await service.activate('alpine', body, 'olga');
    expect(first.created).toBe(true);
    expect(first.view.activation).toMatchObject({ state: 'active', kind: 'activation', requestedBy: 'olga' });
    expect(first.view.activation.plan.sites).toEqual([
      { siteId: 'bern', kw: 457.143 },
      { siteId: 'basel', kw: 342.857 },
    ]);
    expect(first.view.history.map((h) => h.state)).toEqual(['received', 'dispatching', 'active']);
    expect(first.view.execution?.state).toBe('active');
    expect(updates.map((u) => u.state)).toEqual(['received', 'dispatching', 'active']);

    clock += 5_000;
    const retry = await service.activate(
      'alpine',
      { kw: 800, durationMs: 600_000, productId: 'mfrr', id: 'A39-1' },
      'olga',
    );
    expect(retry.created).toBe(false);
    expect(retry.view.activation.receivedMs).toBe(first.view.activation.receivedMs);
    expect(executor.plans.size).toBe(1);

    await expectUnchanged(
      () => service.activate('alpine', { ...body, kw: 900 }, 'olga'),
      'conflict',
      'GFX_MARKET_DUPLICATE_ID',
    );
    await expectUnchanged(
      () => service.activate('nordic', body, 'olga'),
      'conflict',
      'GFX_MARKET_DUPLICATE_ID',
    );
  });

  it('refuses out-of-bounds activations whole and stores nothing', async () => {
    await holdMfrr();
    const base = { id: 'A39-2', productId: 'mfrr', durationMs: 600_000, kw: 800 };
    await expectUnchanged(
      () => service.activate('alpine', { ...base, kw: 1200 }, null),
      'input',
      'GFX_MARKET_ACTIVATION',
    );
    await expectUnchanged(
      () => service.activate('alpine', { ...base, start: new Date(T0 + 2 * H).toISOString() }, null),
      'input',
      'GFX_MARKET_ACTIVATION',
    );
    await expectUnchanged(
      () => service.activate('alpine', { ...base, start: new Date(T0 - H).toISOString() }, null),
      'input',
      'GFX_MARKET_ACTIVATION',
    );
    await expectUnchanged(() => service.activate('nordic', base, null), 'input', 'GFX_MARKET_ACTIVATION');
    await expectUnchanged(
      () => service.activate('nordic', { ...base, productId: 'dr-event' }, null),
      'not_found',
      'GFX_MARKET_UNKNOWN_PRODUCT',
    );
    await expectUnchanged(() => service.activate('atlantis', base, null), 'not_found', 'GFX_NOT_FOUND');
  });

  it('runs received → dispatching → active → restoring → completed and reports delivery against the meter-before baseline', async () => {
    await holdMfrr();
    await service.activate(
      'alpine',
      { id: 'A39-3', productId: 'mfrr', durationMs: 10 * 60_000, kw: 1000 },
      null,
    );
    clock = T0 + 11 * 60_000;
    await service.tick();
    expect((await service.status('alpine', 'A39-3')).activation.state).toBe('restoring');
    executor.advance('A39-3', 'done');
    clock += 1000;
    await service.tick();
    const done = await service.status('alpine', 'A39-3');
    expect(done.history.map((h) => h.state)).toEqual([
      'received',
      'dispatching',
      'active',
      'restoring',
      'completed',
    ]);
    expect(done.execution?.state).toBe('done');

    const report = await service.report('alpine', 'A39-3');
    const portfolio = report.rows.find((r) => r.siteId === 'portfolio')!;
    // 1000 kW for 10 minutes = 166.667 kWh, delivered exactly (the fixture meter follows the plan).
    expect(portfolio).toMatchObject({
      requestedWh: 166_667,
      deliveredWh: 166_667,
      shortfallWh: 0,
      performanceRatio: 1,
    });
    expect(report.baseline).toMatchObject({ method: 'meter_before', intervalMs: 60_000 });
    expect(await service.reports('alpine', hour)).toEqual(report.rows);
    await expect(service.status('nordic', 'A39-3')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('schedules a future DR event, cancels it before its start without dispatching, and reports a 10-of-10 baseline', async () => {
    const day = { fromMs: T0, toMs: T0 + 3 * H };
    const { bids } = await service.buildBids('alpine', 'dr-event', day, {
      kind: 'fixed',
      priceCentsPerMwh: 100,
    });
    await service.accept(
      'alpine',
      'dr-event',
      bids.map((b) => ({ bidId: b.id })),
    );
    const later = { productId: 'dr-event', start: new Date(T0 + H).toISOString(), durationMs: H, kw: 500 };
    const waiting = await service.activate('alpine', { ...later, id: 'dr-1' }, null);
    expect(waiting.view.activation).toMatchObject({ state: 'received', kind: 'dr_event' });
    const cancelled = await service.cancel('alpine', 'dr-1', 'olga');
    expect(cancelled.activation).toMatchObject({ state: 'cancelled', message: 'cancel requested by olga' });
    expect(executor.plans.size).toBe(0);
    expect((await service.cancel('alpine', 'dr-1', 'olga')).activation.state).toBe('cancelled');

    await service.activate('alpine', { ...later, id: 'dr-2' }, null);
    clock = T0 + H;
    await service.tick();
    expect((await service.status('alpine', 'dr-2')).activation.state).toBe('active');
    clock = T0 + 2 * H;
    await service.tick();
    executor.advance('dr-2', 'done');
    await service.tick();
    const report = await service.report('alpine', 'dr-2');
    expect(report.baseline).toMatchObject({ method: 'ten_of_ten', intervalMs: 15 * 60_000 });
    expect(report.rows.find((r) => r.siteId === 'portfolio')).toMatchObject({
      requestedWh: 500_000,
      deliveredWh: 500_000,
    });
  });

  it('cancels a running activation: restoring until the executor is done, then cancelled; an ended one → 409', async () => {
    await holdMfrr();
    await service.activate('alpine', { id: 'A39-4', productId: 'mfrr', durationMs: 600_000, kw: 500 }, null);
    expect((await service.cancel('alpine', 'A39-4', 'olga')).activation.state).toBe('restoring');
    executor.advance('A39-4', 'done');
    clock += 1000;
    await service.tick();
    expect((await service.status('alpine', 'A39-4')).activation.state).toBe('cancelled');

    await service.activate('alpine', { id: 'A39-5', productId: 'mfrr', durationMs: 600_000, kw: 500 }, null);
    executor.advance('A39-5', 'failed');
    clock += 1000;
    await service.tick();
    expect((await service.status('alpine', 'A39-5')).activation.state).toBe('failed');
    await expect(service.cancel('alpine', 'A39-5', null)).rejects.toMatchObject({
      kind: 'conflict',
      code: 'GFX_MARKET_FINAL',
    });
  });

  it('after a restart resumes an activation still due, and ends one that is over with its devices put back and the reason', async () => {
    await holdMfrr();
    const body = { productId: 'mfrr', durationMs: 600_000 };
    await service.activate('alpine', { ...body, id: 'R-1', kw: 500 }, null);
    await service.activate(
      'alpine',
      { ...body, id: 'R-2', kw: 300, start: new Date(T0).toISOString() },
      null,
    );
    // A new process: the same store, an executor that knows nothing.
    const fresh = new MemoryExecutor(() => clock);
    const restarted = await fixtureService({ repo, executor: fresh, meter: undefined, now: () => clock });
    clock += 30_000;
    await restarted.tick();
    const resumed = await restarted.status('alpine', 'R-1');
    expect(resumed.activation.state).toBe('active');
    expect(resumed.history.map((h) => [h.state, h.note])).toEqual([
      ['received', null],
      ['dispatching', null],
      ['active', null],
      ['dispatching', 'resumed after a restart'],
      ['active', null],
    ]);
    expect([...fresh.plans.keys()].sort()).toEqual(['R-1', 'R-2']);
    // Another restart after R-1's end: it is not dispatched again but ended formally.
    const later = new MemoryExecutor(() => clock);
    const again = await fixtureService({ repo, executor: later, meter: undefined, now: () => clock });
    clock = T0 + 11 * 60_000;
    await again.tick();
    const ended = await again.status('alpine', 'R-1');
    expect(ended.activation.state).toBe('failed');
    expect(ended.activation.message).toBe(
      'gridflex restarted after the activation had ended: ended; every device put back to base; every device put back to base',
    );
    expect(later.recovered.map((r) => r.id).sort()).toEqual(['R-1', 'R-2']);
  });

  it('marks an activation failed when the executor cannot start it', async () => {
    await holdMfrr();
    executor.failNext = 'gateway unreachable';
    const res = await service.activate(
      'alpine',
      { id: 'A39-6', productId: 'mfrr', durationMs: 600_000, kw: 500 },
      null,
    );
    expect(res.view.activation).toMatchObject({
      state: 'failed',
      message: 'dispatch failed: gateway unreachable',
    });
  });

  it('reports by itself once an activation has ended, falling back to the meter before when the 10-of-10 history is missing', async () => {
    // Meter data only from six hours before T0: no day of the 10-of-10 history exists.
    const recent = fixtureMeter(executor);
    const young = await fixtureService({
      repo,
      executor,
      meter: async (site, range, interval) =>
        range.fromMs < T0 - 6 * H
          ? Array(Math.ceil((range.toMs - range.fromMs) / interval)).fill(null)
          : recent(site, range, interval),
      now: () => clock,
    });
    const { bids } = await young.buildBids(
      'alpine',
      'dr-event',
      { fromMs: T0, toMs: T0 + 3 * H },
      { kind: 'fixed', priceCentsPerMwh: 100 },
    );
    await young.accept(
      'alpine',
      'dr-event',
      bids.map((b) => ({ bidId: b.id })),
    );
    const start = T0 + H;
    await young.activate(
      'alpine',
      { id: 'dr-auto', productId: 'dr-event', start: new Date(start).toISOString(), durationMs: H, kw: 500 },
      null,
    );
    clock = start;
    await young.tick();
    clock = start + H;
    await young.tick();
    executor.advance('dr-auto', 'done');
    await young.tick();
    expect((await young.status('alpine', 'dr-auto')).activation.state).toBe('completed');
    // Not before its last 15-min interval is metered and a minute has passed.
    expect(await repo.counts()).toMatchObject({ market_reports: 0 });
    clock = start + H + 16 * 60_000;
    await young.tick();
    const [report] = await repo.reports('alpine', { fromMs: start, toMs: start + 1 });
    expect(report?.baseline).toMatchObject({
      method: 'ten_of_ten',
      fallbacks: [
        { siteId: 'bern', method: 'meter_before' },
        { siteId: 'basel', method: 'meter_before' },
      ],
    });
    const [bern] = (report!.baseline as { fallbacks: { reason: string }[] }).fallbacks;
    expect(bern!.reason).toContain('meter data missing on the day 1 before');
    expect(report!.rows.find((r) => r.siteId === 'portfolio')).toMatchObject({
      requestedWh: 500_000,
      deliveredWh: 500_000,
    });
    expect((await young.status('alpine', 'dr-auto')).reportProblem).toBeNull();
  });

  it('refuses a report without meter data rather than guessing a baseline', async () => {
    await holdMfrr();
    await service.activate('alpine', { id: 'A39-7', productId: 'mfrr', durationMs: 600_000, kw: 500 }, null);
    const blind = await fixtureService({
      repo,
      executor,
      meter: async (_site, range, interval) =>
        Array(Math.ceil((range.toMs - range.fromMs) / interval)).fill(null),
      now: () => clock,
    });
    await expect(blind.report('alpine', 'A39-7')).rejects.toMatchObject({
      kind: 'input',
      code: 'GFX_MARKET_METER_DATA',
    });
    expect(await repo.counts()).toMatchObject({ market_reports: 0 });
  });
});
