import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { MarketRepository, migrateMarket } from '../../market/repository.js';
import { fixtureService, fixtureSites, MemoryExecutor } from '../../market/service.fixtures.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { Hub } from '../../stream/index.js';
import { loginCookie } from '../../testkit/login.js';
import { addRoleUsers, ROLE_USERS } from '../../testkit/users.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = `from=${iso(T0)}&to=${iso(T0 + H)}`;

// The HTTP edge over the store the market writes to: embedded PGlite and the PostgreSQL server
// (the repository's own suite covers the TimescaleDB build as well).
for (const backend of testBackends.filter((b) => b.name !== 'pglite-timescale')) {
  describe.skipIf(backend.skipReason !== null)(`market API on ${backend.name}`, () => {
    let store: Store;
    let app: FastifyInstance;
    let repo: MarketRepository;
    let executor: MemoryExecutor;
    // Bids are built and accepted before the hour; the activations run inside it.
    let clock = T0 - 30 * 60_000;
    const auth = {} as Record<'admin' | 'operator' | 'manager' | 'resident' | 'readonly', string>;

    beforeAll(async () => {
      announceSkip(backend, 'market API');
      store = await backend.open();
      await migrateMarket(store);
      repo = new MarketRepository(store.db);
      executor = new MemoryExecutor(() => clock);
      const hub = new Hub();
      const market = await fixtureService({
        repo,
        executor,
        now: () => clock,
        publish: (u) => hub.publish('market', u),
      });
      app = await buildApp({ store, hub, sites: fixtureSites, version: 'test', market });
      const users = await addRoleUsers(store);
      for (const role of ['admin', 'operator', 'manager', 'resident'] as const)
        auth[role] = `Bearer ${(await users.createToken(ROLE_USERS[role].username, 'test', false)).token}`;
      auth.readonly = `Bearer ${(await users.createToken(ROLE_USERS.operator.username, 'ro', true)).token}`;
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    type Who = keyof typeof auth | 'nobody';
    const call = (method: 'GET' | 'POST', url: string, who: Who = 'operator', payload?: unknown) =>
      app.inject({
        method,
        url,
        ...(payload === undefined ? {} : { payload: payload as object }),
        headers: { origin: 'http://localhost', ...(who === 'nobody' ? {} : { authorization: auth[who] }) },
      });

    /** The request is refused with `status` (and `code`) and no market table changed. */
    async function refusedUnchanged(
      request: () => ReturnType<typeof call>,
      status: number,
      code?: string,
    ): Promise<{ message: string; details?: { issues?: { path: string }[] } }> {
      const before = await repo.counts();
      const plans = executor.plans.size;
      const res = await request();
      expect(res.statusCode, res.body).toBe(status);
      if (code) expect(res.json().error).toBe(code);
      expect(await repo.counts()).toEqual(before);
      expect(executor.plans.size).toBe(plans);
      return res.json();
    }

    it('answers availability per portfolio and product, only for the portfolio granted', async () => {
      const res = await call('GET', `/api/portfolios/alpine/availability?product=mfrr&${HOUR}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.slots).toHaveLength(4);
      expect(body.slots[0]).toMatchObject({ upKw: 1400 });
      expect(body.slots[0].sites.map((s: { siteId: string; upKw: number }) => [s.siteId, s.upKw])).toEqual([
        ['bern', 800],
        ['basel', 600],
      ]);
      const list = await call('GET', '/api/portfolios');
      expect(list.json().portfolios.map((p: { id: string }) => p.id)).toEqual(['alpine']);
      expect((await call('GET', '/api/portfolios', 'admin')).json().portfolios).toHaveLength(2);

      // Unknown product, a product the portfolio does not offer, end before start, bad dates.
      const unknown = await call('GET', `/api/portfolios/alpine/availability?product=zzz&${HOUR}`);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toBe('GFX_MARKET_UNKNOWN_PRODUCT');
      const notOffered = await call('GET', `/api/portfolios/nordic/availability?product=dr-event`, 'admin');
      expect(notOffered.json().error).toBe('GFX_MARKET_UNKNOWN_PRODUCT');
      const backwards = await call(
        'GET',
        `/api/portfolios/alpine/availability?product=mfrr&from=${iso(T0 + H)}&to=${iso(T0)}`,
      );
      expect(backwards.statusCode).toBe(400);
      expect(backwards.json().details.issues[0].path).toBe('querystring.to');
      const badDate = await call('GET', '/api/portfolios/alpine/availability?product=mfrr&from=yesterday');
      expect(badDate.statusCode).toBe(400);
      expect(JSON.stringify(badDate.json().details)).toContain('from');
      expect((await call('GET', '/api/portfolios/alpine/availability')).json().message).toContain('product');
    });

    it('offers no slot that has ended: without from, availability starts at the current quarter-hour', async () => {
      const saved = clock;
      clock = T0 - 20 * 60_000;
      try {
        const body = (await call('GET', '/api/portfolios/alpine/availability?product=mfrr')).json();
        expect(body.slots[0].startMs).toBe(T0 - 30 * 60_000);
        expect(body.slots).toHaveLength(96);
        // Bids and events still list from the start of the hour.
        expect((await call('GET', '/api/portfolios/alpine/bids')).statusCode).toBe(200);
      } finally {
        clock = saved;
      }
    });

    it('refuses callers without a token, with the wrong role, or outside their portfolio (404)', async () => {
      const url = `/api/portfolios/alpine/availability?product=mfrr&${HOUR}`;
      expect((await call('GET', url, 'nobody')).statusCode).toBe(401);
      expect((await call('GET', url, 'manager')).statusCode).toBe(403);
      expect((await call('GET', url, 'resident')).statusCode).toBe(403);
      const other = await call('GET', `/api/portfolios/nordic/availability?product=mfrr&${HOUR}`);
      expect(other.statusCode).toBe(404);
      expect(other.body).not.toContain('upKw');
      expect((await call('GET', '/api/portfolios/nordic/bids')).statusCode).toBe(404);
      const body = { id: 'x-1', productId: 'mfrr', durationMs: 600_000, kw: 100 };
      await refusedUnchanged(() => call('POST', '/api/portfolios/nordic/events', 'operator', body), 404);
      await refusedUnchanged(() => call('POST', '/api/portfolios/alpine/events', 'nobody', body), 401);
      await refusedUnchanged(() => call('POST', '/api/portfolios/alpine/events', 'manager', body), 403);
      await refusedUnchanged(
        () => call('POST', '/api/portfolios/alpine/events', 'readonly', body),
        403,
        'GFX_TOKEN_READ_ONLY',
      );
    });

    it('builds bids, accepts them once, and lists bids with their obligations', async () => {
      const strategy = { kind: 'fixed', priceCentsPerMwh: 900 };
      const bad = await refusedUnchanged(
        () =>
          call('POST', '/api/portfolios/alpine/bids', 'operator', {
            productId: 'mfrr',
            from: iso(T0),
            to: iso(T0 + H),
            strategy: { kind: 'fixed', priceCentsPerMwh: 'cheap' },
          }),
        400,
      );
      expect(JSON.stringify(bad.details)).toContain('strategy');
      await refusedUnchanged(
        () =>
          call('POST', '/api/portfolios/alpine/bids', 'operator', {
            productId: 'mfrr',
            from: iso(T0 + H),
            to: iso(T0),
            strategy,
          }),
        400,
      );
      const built = await call('POST', '/api/portfolios/alpine/bids', 'operator', {
        productId: 'mfrr',
        from: iso(T0),
        to: iso(T0 + H),
        strategy,
      });
      expect(built.statusCode, built.body).toBe(201);
      const bids = built.json().bids as { id: string; kw: number }[];
      // 1400 kW floored to the 1 MW step of mFRR, one bid per quarter-hour.
      expect(bids.map((b) => b.kw)).toEqual([1000, 1000, 1000, 1000]);

      await refusedUnchanged(
        () =>
          call('POST', '/api/portfolios/alpine/acceptances', 'operator', {
            productId: 'mfrr',
            acceptances: [{ bidId: bids[0]!.id, acceptedKw: 5000 }],
          }),
        400,
        'GFX_MARKET_ACCEPTANCE',
      );
      const accepted = await call('POST', '/api/portfolios/alpine/acceptances', 'operator', {
        productId: 'mfrr',
        acceptances: [{ bidId: bids[0]!.id, acceptedKw: 1000 }],
      });
      expect(accepted.statusCode, accepted.body).toBe(201);
      await refusedUnchanged(
        () =>
          call('POST', '/api/portfolios/alpine/acceptances', 'operator', {
            productId: 'mfrr',
            acceptances: [{ bidId: bids[0]!.id, acceptedKw: 1000 }],
          }),
        409,
        'GFX_MARKET_ACCEPTANCE',
      );

      // Re-posting is a 409 unless it is an explicit replace, which raises each bid's version.
      const repost = { productId: 'mfrr', from: iso(T0), to: iso(T0 + H), strategy };
      await refusedUnchanged(
        () => call('POST', '/api/portfolios/alpine/bids', 'operator', repost),
        409,
        'GFX_MARKET_BID_EXISTS',
      );
      const replaced = await call('POST', '/api/portfolios/alpine/bids', 'operator', {
        ...repost,
        replace: true,
      });
      expect(replaced.statusCode, replaced.body).toBe(201);
      expect(Object.values(replaced.json().versions)).toEqual([2, 2, 2]);

      const listed = (await call('GET', `/api/portfolios/alpine/bids?${HOUR}`)).json();
      expect(listed.bids.map((b: { version: number }) => b.version)).toEqual([1, 2, 2, 2]);
      expect(listed.bids.filter((b: { accepted: boolean }) => b.accepted)).toHaveLength(1);
      expect(listed.obligations).toHaveLength(1);
      expect(listed.obligations[0]).toMatchObject({ kw: 1000, productId: 'mfrr' });
      // Availability is now net of the obligation in the first quarter-hour.
      const avail = (await call('GET', `/api/portfolios/alpine/availability?product=mfrr&${HOUR}`)).json();
      expect(avail.slots.map((s: { upKw: number }) => s.upKw)).toEqual([400, 1400, 1400, 1400]);

      // Once its quarter-hour has started a bid can no longer be accepted.
      clock = T0 + 15 * 60_000;
      await refusedUnchanged(
        () =>
          call('POST', '/api/portfolios/alpine/acceptances', 'operator', {
            productId: 'mfrr',
            acceptances: [{ bidId: bids[1]!.id }],
          }),
        409,
        'GFX_MARKET_PERIOD_STARTED',
      );
      clock = T0 + 60_000;
    });

    it('refuses bad and out-of-bounds events with 4xx naming the field, and stores nothing', async () => {
      const url = '/api/portfolios/alpine/events';
      const ok = { id: 'A39-7', productId: 'mfrr', durationMs: 600_000, kw: 800 };
      const missing = await refusedUnchanged(
        () => call('POST', url, 'operator', { ...ok, kw: undefined }),
        400,
      );
      expect(missing.details?.issues?.map((i) => i.path)).toContain('body.kw');
      const negative = await refusedUnchanged(() => call('POST', url, 'operator', { ...ok, kw: -5 }), 400);
      expect(negative.details?.issues?.map((i) => i.path)).toContain('body.kw');
      const badId = await refusedUnchanged(() => call('POST', url, 'operator', { ...ok, id: 'a b' }), 400);
      expect(badId.details?.issues?.map((i) => i.path)).toContain('body.id');
      const badStart = await refusedUnchanged(
        () => call('POST', url, 'operator', { ...ok, start: 'soon' }),
        400,
      );
      expect(badStart.details?.issues?.map((i) => i.path)).toContain('body.start');
      const over = await refusedUnchanged(
        () => call('POST', url, 'operator', { ...ok, kw: 1200 }),
        422,
        'GFX_MARKET_ACTIVATION',
      );
      expect(over.message).toContain('kw');
      await refusedUnchanged(
        () => call('POST', url, 'operator', { ...ok, productId: 'nope' }),
        404,
        'GFX_MARKET_UNKNOWN_PRODUCT',
      );
      // Already over: start plus duration before now.
      await refusedUnchanged(
        () => call('POST', url, 'operator', { ...ok, start: iso(T0 - H) }),
        422,
        'GFX_MARKET_ACTIVATION',
      );
    });

    it('posts an activation once per id: a retry gets the same answer, another body 409', async () => {
      const url = '/api/portfolios/alpine/events';
      const body = { id: 'A39-1', productId: 'mfrr', durationMs: 10 * 60_000, kw: 800 };
      const first = await call('POST', url, 'operator', body);
      expect(first.statusCode, first.body).toBe(201);
      expect(first.json().activation).toMatchObject({ id: 'A39-1', state: 'active', requestedBy: 'olga' });
      const afterFirst = await repo.counts();

      clock += 5_000;
      const retry = await call('POST', url, 'operator', {
        kw: 800,
        durationMs: 600_000,
        id: 'A39-1',
        productId: 'mfrr',
      });
      expect(retry.statusCode).toBe(200);
      expect(retry.json().activation).toEqual(first.json().activation);
      expect(await repo.counts()).toEqual(afterFirst);
      expect(executor.plans.size).toBe(1);

      const conflict = await refusedUnchanged(
        () => call('POST', url, 'operator', { ...body, kw: 900 }),
        409,
        'GFX_MARKET_DUPLICATE_ID',
      );
      expect(conflict.message).toContain('id');
      // A second activation may take only what the first leaves of the 1000 kW obligation.
      const beyond = await refusedUnchanged(
        () => call('POST', url, 'operator', { ...body, id: 'A39-9', kw: 300 }),
        422,
        'GFX_MARKET_ACTIVATION',
      );
      expect(beyond.message).toContain('200 kW left of obligation mfrr:2026-11-23T10:00:00.000Z:0');

      const status = await call('GET', `${url}/A39-1`);
      expect(status.statusCode).toBe(200);
      expect(status.json().history.map((h: { state: string }) => h.state)).toEqual([
        'received',
        'dispatching',
        'active',
      ]);
      expect(status.json().execution.sites).toHaveLength(2);
      expect((await call('GET', `${url}/nope`)).statusCode).toBe(404);
      expect((await call('GET', '/api/portfolios/nordic/events/A39-1', 'admin')).statusCode).toBe(404);
      const list = (await call('GET', `/api/portfolios/alpine/events?${HOUR}`)).json();
      expect(list.events.map((e: { id: string }) => e.id)).toEqual(['A39-1']);

      // The activation and the refusals are in the audit log.
      const audit = (await call('GET', '/api/audit?limit=50', 'admin')).json();
      const actions = (audit.entries ?? audit) as { action: string; outcome: string; target: string }[];
      expect(actions.filter((a) => a.action === 'activation' && a.outcome === 'ok')).toHaveLength(1);
      expect(actions.some((a) => a.action === 'activation' && a.outcome === 'refused')).toBe(true);
    });

    it('reports delivery against the baseline as JSON and CSV', async () => {
      clock = T0 + 11 * 60_000;
      const report = await call('POST', '/api/portfolios/alpine/events/A39-1/report');
      expect(report.statusCode, report.body).toBe(201);
      const rows = report.json().rows as { siteId: string; deliveredWh: number }[];
      expect(rows.map((r) => r.siteId)).toEqual(['bern', 'basel', 'portfolio']);
      // 800 kW for 10 min, as 457.143 + 342.857 kW: 76,191 + 57,143 Wh (each site rounded once).
      expect(rows.map((r) => r.deliveredWh)).toEqual([76_191, 57_143, 133_334]);

      const json = await call('GET', `/api/portfolios/alpine/reports?${HOUR}`);
      expect(json.statusCode).toBe(200);
      expect(json.headers['content-type']).toContain('application/json');
      expect(json.json().columns).toContain('deliveredWh');
      expect(json.json().rows).toHaveLength(3);
      const csv = await call('GET', `/api/portfolios/alpine/reports?${HOUR}&format=csv`);
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.headers['content-disposition']).toContain('gridflex-alpine-2026-11-23.csv');
      const lines = csv.body.trim().split('\r\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toContain('deliveredWh');
      expect(lines[3]).toContain('portfolio');
      expect((await call('GET', `/api/portfolios/alpine/reports?${HOUR}&format=xml`)).statusCode).toBe(400);
      expect((await call('GET', `/api/portfolios/nordic/reports?${HOUR}`)).statusCode).toBe(404);
      await refusedUnchanged(() => call('POST', '/api/portfolios/alpine/events/nope/report'), 404);
    });

    it('cancels an activation once: a repeat is a no-op, another portfolio or an unknown id 404', async () => {
      const url = '/api/portfolios/alpine/events/A39-1/cancel';
      await refusedUnchanged(() => call('POST', '/api/portfolios/nordic/events/A39-1/cancel'), 404);
      await refusedUnchanged(() => call('POST', '/api/portfolios/alpine/events/nope/cancel'), 404);
      await refusedUnchanged(() => call('POST', url, 'readonly'), 403, 'GFX_TOKEN_READ_ONLY');
      const first = await call('POST', url);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json().activation.state).toBe('restoring');
      expect(first.json().history.at(-1).note).toBe('cancel requested by olga');
      const after = await repo.counts();
      const again = await call('POST', url);
      expect(again.statusCode).toBe(200);
      expect(again.json().activation).toEqual(first.json().activation);
      expect(await repo.counts()).toEqual(after);
    });

    it('works from a browser session as well (cookie and Origin)', async () => {
      const cookie = await loginCookie(app, ROLE_USERS.operator.username, ROLE_USERS.operator.password);
      const res = await app.inject({
        url: `/api/portfolios/alpine/availability?product=dr-event&${HOUR}`,
        headers: { cookie },
      });
      expect(res.statusCode).toBe(200);
      const noOrigin = await app.inject({
        method: 'POST',
        url: '/api/portfolios/alpine/events',
        headers: { cookie },
        payload: { id: 'csrf-1', productId: 'mfrr', durationMs: 600_000, kw: 100 },
      });
      expect(noOrigin.statusCode).toBe(403);
    });

    it('streams the portfolio’s activation updates as Server-Sent Events', async () => {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${base}/api/portfolios/alpine/live`, {
        headers: { authorization: auth.operator },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(
        (await fetch(`${base}/api/portfolios/nordic/live`, { headers: { authorization: auth.operator } }))
          .status,
      ).toBe(404);
      const posted = await call('POST', '/api/portfolios/alpine/events', 'operator', {
        id: 'live-1',
        productId: 'mfrr',
        durationMs: 120_000,
        kw: 100,
      });
      expect(posted.statusCode, posted.body).toBe(201);
      const states: string[] = [];
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      while (!states.includes('active')) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^event: activation\ndata: (.*)$/m.exec(block)?.[1];
          if (data) {
            const u = JSON.parse(data) as { activationId: string; portfolioId: string; state: string };
            expect(u).toMatchObject({ activationId: 'live-1', portfolioId: 'alpine' });
            states.push(u.state);
          }
        }
      }
      await reader.cancel();
      expect(states).toEqual(['received', 'dispatching', 'active']);
    });
  });
}
