import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { GatewayConfigSchema } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { RegisterImage, startModbusTcp, type TestDevice } from '../../gateway/testing.js';
import { SetpointWriteRepository } from '../../gateway/write-log.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { Hub } from '../../stream/index.js';
import { roleCookies } from '../../testkit/login.js';
import { bernSite, house, testSites } from '../../testkit/sites.js';
import { addRoleUsers } from '../../testkit/users.js';

const sites = testSites(
  ...['bern', 'basel'].map((id) => bernSite({ id, name: `ZEV ${id}`, buildings: [house([])] })),
);

for (const backend of testBackends) {
  announceSkip(backend, 'setpoint writes route');
  describe.skipIf(backend.skipReason)(`setpoint writes over HTTP (${backend.name})`, () => {
    let store: Store;
    let app: FastifyInstance;
    let device: TestDevice;
    let gateway: Gateway;
    const cookies = {} as Record<'manager' | 'resident', string>;

    beforeAll(async () => {
      store = await backend.open();
      // A battery inverter with its power limit (W, int16 × 10) at holding register 10, now 1500 W.
      device = await startModbusTcp(new RegisterImage().put('holding', 10, [150]));
      const cfg = GatewayConfigSchema.parse({
        site: 'bern',
        profiles: {
          inverter: {
            registers: { limit: { address: 10, type: 'int16', scale: 10, unit: 'W', writable: true } },
          },
        },
        devices: [
          {
            id: 'inv',
            protocol: 'modbus',
            profile: 'inverter',
            connection: { transport: 'tcp', host: '127.0.0.1', port: device.port },
            points: [{ id: 'limit', kind: 'setpoint', unit: 'W', writable: true, min: 0, max: 5000 }],
          },
        ],
      });
      gateway = new Gateway(cfg, new Hub(), { writeLog: await SetpointWriteRepository.open(store) });
      app = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
      await addRoleUsers(store);
      Object.assign(cookies, await roleCookies(app, ['manager', 'resident']));
    }, 120_000);
    afterAll(async () => {
      await gateway?.stop();
      await app?.close();
      await device?.stop();
      await store?.close();
    });

    const get = (url: string, role: keyof typeof cookies) =>
      app.inject({ url, headers: { cookie: cookies[role] } });

    it('lists nothing before the first write', async () => {
      const res = await get('/api/sites/bern/writes', 'manager');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ writes: [], nextOffset: null });
    });

    it("lists the gateway's writes and refusals newest first: who, why, old and new value, outcome", async () => {
      await gateway.write({
        device: 'inv',
        point: 'limit',
        value: 2500,
        who: 'optimizer',
        why: 'peak shaving',
      });
      await gateway.write({ device: 'inv', point: 'limit', value: 9000, who: 'max', why: 'manual test' });
      await gateway.flushAudit();
      const res = await get('/api/sites/bern/writes', 'manager');
      expect(res.statusCode, res.body).toBe(200);
      const { writes, nextOffset } = res.json();
      expect(nextOffset).toBeNull();
      expect(writes).toEqual([
        expect.objectContaining({
          device: 'inv',
          point: 'limit',
          who: 'max',
          why: 'manual test',
          requested: 9000,
          value: null,
          outcome: 'refused',
          reason: expect.stringMatching(/5000/),
        }),
        expect.objectContaining({
          who: 'optimizer',
          why: 'peak shaving',
          requested: 2500,
          value: 2500,
          old: 1500,
          readBack: 2500,
          outcome: 'written',
          reason: null,
        }),
      ]);
      expect(Date.parse(writes[0].ts)).not.toBeNaN();
      const paged = (await get('/api/sites/bern/writes?limit=1', 'manager')).json();
      expect(paged.writes.map((w: { who: string }) => w.who)).toEqual(['max']);
      expect(paged.nextOffset).toBe(1);
    });

    it('refuses a site outside the grant with 404, a resident with 403, and a bad limit with 400', async () => {
      expect((await get('/api/sites/basel/writes', 'manager')).statusCode).toBe(404);
      expect((await get('/api/sites/bern/writes', 'resident')).statusCode).toBe(403);
      const bad = await get('/api/sites/bern/writes?limit=0', 'manager');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().details.issues[0].path).toBe('querystring.limit');
    });
  });
}
