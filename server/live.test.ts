import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { listPoints } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { roleCookie } from '../testkit/login.js';
import { bernAndBasel, house, modbusMeter, testSites } from '../testkit/sites.js';
import { addRoleUsers } from '../testkit/users.js';

const sites = testSites(...bernAndBasel([house([modbusMeter('meter', { unitId: 1 })])]));

let store: Store;
let app: FastifyInstance;
let base: string;
const hub = new Hub();

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await store.readings.describePoints(listPoints(sites));
  await store.readings.ingest([{ pointId: 'bern/meter/power', ts: 1_000, value: 1500, quality: 'good' }]);
  app = await buildApp({ store, hub, sites, version: 'test', auth: { liveHeartbeatMs: 200 } });
  await addRoleUsers(store);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await store.close();
});

/** Read server-sent events from a response until `until` says stop or the stream ends. */
async function readEvents(res: Response, until: (events: { event: string; data: unknown }[]) => boolean) {
  const events: { event: string; data: unknown }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) return { events, ended: true };
    buffer += value;
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      cut = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return { events, ended: false };
}

describe('live readings over Server-Sent Events', () => {
  it('sends the latest stored values, then readings of the granted site only', async () => {
    const cookie = await roleCookie(app, 'manager');
    const res = await fetch(`${base}/api/sites/bern/live`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const publisher = setInterval(
      () =>
        hub.publishReadings([
          { pointId: 'basel/meter/power', ts: Date.now(), value: 999, quality: 'good' },
          { pointId: 'bern/meter/power', ts: Date.now(), value: 2345, quality: 'good' },
        ]),
      50,
    );
    const { events } = await readEvents(res, (e) => e.some((x) => x.event === 'readings'));
    clearInterval(publisher);
    expect(events[0]).toEqual({
      event: 'snapshot',
      data: [{ pointId: 'bern/meter/power', ts: 1_000, value: 1500, quality: 'good' }],
    });
    const live = events.find((e) => e.event === 'readings')!.data as { pointId: string; value: number }[];
    expect(live.length).toBeGreaterThan(0);
    expect(new Set(live.map((r) => r.pointId))).toEqual(new Set(['bern/meter/power']));
    expect(live[0]!.value).toBe(2345);
  });

  it('refuses a site outside the grant with 404 and an anonymous caller with 401', async () => {
    const cookie = await roleCookie(app, 'manager');
    expect((await fetch(`${base}/api/sites/basel/live`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/api/sites/bern/live`)).status).toBe(401);
    const resident = await roleCookie(app, 'resident');
    expect((await fetch(`${base}/api/sites/bern/live`, { headers: { cookie: resident } })).status).toBe(403);
  });

  it('ends open streams when the server stops', async () => {
    const app2 = await buildApp({ store, hub, sites, version: 'test' });
    const base2 = await app2.listen({ host: '127.0.0.1', port: 0 });
    const cookie = await roleCookie(app2, 'admin');
    const res = await fetch(`${base2}/api/sites/basel/live`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const closed = app2.close();
    const { ended } = await readEvents(res, () => false);
    expect(ended).toBe(true);
    await closed;
  });

  it('ends the stream when the session ends', async () => {
    const cookie = await roleCookie(app, 'operator');
    const res = await fetch(`${base}/api/sites/bern/live`, { headers: { cookie } });
    const logout = await fetch(`${base}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: base },
    });
    expect(logout.status).toBe(204);
    const { ended } = await readEvents(res, () => false);
    expect(ended).toBe(true);
  });
});
