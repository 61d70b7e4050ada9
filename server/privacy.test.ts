import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { listPoints } from '../model/index.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { Hub } from '../stream/index.js';
import { roleCookies } from '../testkit/login.js';
import { bernSite, house, modbusMeter, testSites } from '../testkit/sites.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';
import { AuditLog } from './audit.js';

/** Bern: a grid meter (the site's flow), a heat-pump sub-meter (building device) and flat 1's meter. */
const sites = testSites(
  bernSite({
    grid: { importLimitKw: 60, exportLimitKw: 30, measure: { power: 'bern/grid-meter/power' } },
    buildings: [
      house([
        modbusMeter('grid-meter', { unitId: 1 }),
        modbusMeter('heat-pump', { unitId: 2 }),
        modbusMeter('flat-1-meter', { unitId: 3 }),
      ]),
    ],
  }),
);

const T0 = Date.UTC(2026, 2, 2);
const KEYS = ['bern/grid-meter/power', 'bern/heat-pump/power', 'bern/flat-1-meter/power'];
/** A point of the frequency-response proof (market/runtime/proof-log.ts): no device of the model. */
const PROOF = 'bern/frequency-response/requested';

for (const backend of testBackends) {
  announceSkip(backend, 'privacy');
  describe.skipIf(backend.skipReason)(`each role sees the least it needs (${backend.name})`, () => {
    let store: Store;
    let app: FastifyInstance;
    let base: string;
    const cookies: Record<string, string> = {};
    const hub = new Hub();

    beforeAll(async () => {
      store = await backend.open();
      await store.readings.describePoints(listPoints(sites));
      await store.readings.ingest(
        [...KEYS, PROOF].map((pointId) => ({ pointId, ts: T0, value: 100, quality: 'good' })),
      );
      app = await buildApp({
        store,
        hub,
        sites,
        version: 'test',
        householdDevices: new Set(['bern/flat-1-meter']),
      });
      await addRoleUsers(store);
      Object.assign(cookies, await roleCookies(app, ['admin', 'manager', 'operator']));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    }, 60_000);
    afterAll(async () => {
      app?.server.closeAllConnections();
      await app?.close();
      await store?.close();
    });

    const readings = (role: string, key: string) =>
      app.inject({
        url: `/api/points/${encodeURIComponent(key)}/readings`,
        query: { from: String(T0 - 60_000), to: String(T0 + 60_000), bucket: 'raw' },
        headers: { cookie: cookies[role]! },
      });
    const listed = async (role: string) => {
      const res = await app.inject({ url: '/api/sites', headers: { cookie: cookies[role]! } });
      return (res.json().sites[0].buildings[0].devices as { points: { key: string }[] }[]).flatMap((d) =>
        d.points.map((p) => p.key),
      );
    };
    const snapshot = async (role: string) => {
      const ctl = new AbortController();
      const res = await fetch(`${base}/api/sites/bern/live`, {
        headers: { cookie: cookies[role]! },
        signal: ctl.signal,
      });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!/event: snapshot\ndata: .*\n\n/.test(text)) text += (await reader.read()).value ?? '';
      await reader.cancel();
      ctl.abort();
      const data = /event: snapshot\ndata: (.*)\n\n/.exec(text)![1]!;
      return (JSON.parse(data) as { pointId: string }[]).map((r) => r.pointId).sort();
    };

    it("masks a flat's meter from managers: not listed, no readings (404), not in the live stream", async () => {
      expect(await listed('manager')).toEqual(['bern/grid-meter/power', 'bern/heat-pump/power']);
      expect((await readings('manager', 'bern/flat-1-meter/power')).statusCode).toBe(404);
      expect((await readings('manager', 'bern/heat-pump/power')).statusCode).toBe(200);
      expect(await snapshot('manager')).toEqual(['bern/grid-meter/power', 'bern/heat-pump/power']);
    });

    it("shows operators the site's power flows only, not device data", async () => {
      expect(await listed('operator')).toEqual(['bern/grid-meter/power']);
      expect((await readings('operator', 'bern/heat-pump/power')).statusCode).toBe(404);
      expect((await readings('operator', 'bern/flat-1-meter/power')).statusCode).toBe(404);
      expect((await readings('operator', 'bern/grid-meter/power')).statusCode).toBe(200);
      // The frequency-response proof is theirs to check (market/runtime/proof-log.ts).
      expect((await readings('operator', PROOF)).statusCode).toBe(200);
      expect(await snapshot('operator')).toEqual(['bern/grid-meter/power']);
    });

    it("records an admin's look at a household's data in the audit log, and nothing for building data", async () => {
      const before = (await new AuditLog(store.db).recent(100)).filter(
        (e) => e.action === 'personal_data_access',
      ).length;
      expect((await readings('admin', 'bern/heat-pump/power')).statusCode).toBe(200);
      const res = await readings('admin', 'bern/flat-1-meter/power');
      expect(res.statusCode).toBe(200);
      expect(res.json().readings).toHaveLength(1);
      expect(await snapshot('admin')).toEqual(KEYS.slice().sort());
      const looks = (await new AuditLog(store.db).recent(100)).filter(
        (e) => e.action === 'personal_data_access',
      );
      expect(looks.length - before).toBe(2);
      expect(looks.map((e) => e.target)).toEqual(expect.arrayContaining(['bern/flat-1-meter/power']));
      expect(looks.every((e) => e.actor === ROLE_USERS.admin.username)).toBe(true);
    });
  });
}
