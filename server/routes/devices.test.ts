import type { FastifyInstance } from 'fastify';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveGateways } from '../../app/runtime.js';
import { freePort, sdm630Image, startModbusTcp, type TestDevice } from '../../gateway/testing.js';
import { listPoints, parseOrThrow, type Site, SitesConfigSchema } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { Hub } from '../../stream/index.js';
import { buildApp } from '../app.js';
import { addRoleUsers, loginCookie, ROLE_USERS } from '../testing.js';

/** Two sites: the manager's `bern`, and `basel` which is not theirs. */
function testSites(): Site[] {
  const site = (id: string) => ({
    id,
    name: `ZEV ${id}`,
    location: { lat: 46.95, lon: 7.45 },
    timezone: 'Europe/Zurich',
    grid: { importLimitKw: 60, exportLimitKw: 30 },
    buildings: [{ id: 'house', name: 'House', devices: [] }],
  });
  return parseOrThrow(SitesConfigSchema, { sites: [site('bern'), site('basel')] }, 'test sites').sites;
}

/** An SDM630 as a manager would describe it in the devices form. */
const meter = (port: number, id = 'sub-meter') => ({
  id,
  name: 'Sub-meter heat pump',
  protocol: 'modbus',
  profile: 'sdm630',
  connection: { transport: 'tcp', host: '127.0.0.1', port, unitId: 1 },
  points: [
    { id: 'power', kind: 'active_power' },
    { id: 'voltage_l1', kind: 'voltage' },
    { id: 'energy_import', kind: 'energy_import' },
  ],
});

for (const backend of testBackends) {
  announceSkip(backend, 'device routes');
  describe.skipIf(backend.skipReason)(
    `devices over HTTP against a loopback Modbus meter (${backend.name})`,
    () => {
      let store: Store;
      let app: FastifyInstance;
      let device: TestDevice;
      let gateways: LiveGateways;
      let sites: Site[];
      const hub = new Hub();
      let manager: string;
      const origin = 'http://localhost';

      beforeAll(async () => {
        store = await backend.open();
        device = await startModbusTcp(sdm630Image({ power: 2345.5 }));
        sites = testSites();
        await store.readings.describePoints(listPoints(sites));
        gateways = new LiveGateways(hub, { link: { minBackoffMs: 50, maxBackoffMs: 500 } });
        app = await buildApp({ store, hub, sites, version: 'test', devices: gateways });
        await addRoleUsers(store);
        manager = await loginCookie(app, ROLE_USERS.manager.username, ROLE_USERS.manager.password);
      }, 120_000);
      afterAll(async () => {
        await app?.close();
        await gateways?.stop();
        await device?.stop();
        await store?.close();
      });

      const post = (url: string, payload: unknown) =>
        app.inject({ method: 'POST', url, headers: { cookie: manager, origin }, payload: payload as object });
      const put = (url: string, payload: unknown) =>
        app.inject({ method: 'PUT', url, headers: { cookie: manager, origin }, payload: payload as object });
      const savedIds = async (site = 'bern') => {
        const res = await app.inject({ url: `/api/sites/${site}/devices`, headers: { cookie: manager } });
        expect(res.statusCode, res.body).toBe(200);
        return (res.json().devices as { device: { id: string } }[]).map((d) => d.device.id);
      };

      it('tests a connection with one read: each point with its value, unit and quality', async () => {
        const res = await post('/api/sites/bern/devices/test', { device: meter(device.port) });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json();
        expect(body.unreachable).toBe(false);
        expect(body.errors).toEqual([]);
        expect(body.points).toEqual([
          expect.objectContaining({ point: 'power', unit: 'W', value: 2345.5, quality: 'good' }),
          expect.objectContaining({ point: 'voltage_l1', unit: 'V', value: 230.5, quality: 'good' }),
          expect.objectContaining({ point: 'energy_import', unit: 'Wh', value: 1_500_250, quality: 'good' }),
        ]);
        // A test saves nothing.
        expect(await savedIds()).toEqual([]);
      }, 60_000);

      it('answers an unreachable device with an error that names the address', async () => {
        const nobody = await freePort();
        const res = await post('/api/sites/bern/devices/test', { device: meter(nobody) });
        expect(res.statusCode, res.body).toBe(502);
        const body = res.json();
        expect(body.error).toBe('GFX_DEVICE_UNREACHABLE');
        expect(body.message).toContain(`127.0.0.1:${nobody}`);
      }, 60_000);

      it('refuses a bad body with 400 naming the field, and saves nothing', async () => {
        const bad = { ...meter(device.port), connection: { transport: 'tcp', host: '127.0.0.1', port: 'x' } };
        const test = await post('/api/sites/bern/devices/test', { device: bad });
        expect(test.statusCode).toBe(400);
        expect(test.json().details.issues.map((i: { path: string }) => i.path)).toContain(
          'device.connection.port',
        );

        const unknownProfile = await put('/api/sites/bern/devices/sub-meter', {
          building: 'house',
          device: { ...meter(device.port), profile: 'no-such-meter' },
        });
        expect(unknownProfile.statusCode).toBe(400);
        expect(JSON.stringify(unknownProfile.json().details.issues)).toContain('device.profile');

        const noBuilding = await put('/api/sites/bern/devices/sub-meter', { device: meter(device.port) });
        expect(noBuilding.statusCode).toBe(400);
        expect(noBuilding.json().details.issues.map((i: { path: string }) => i.path)).toContain('building');

        const wrongBuilding = await put('/api/sites/bern/devices/sub-meter', {
          building: 'garage',
          device: meter(device.port),
        });
        expect(wrongBuilding.statusCode).toBe(400);
        expect(wrongBuilding.json().details.issues).toEqual([
          expect.objectContaining({ path: 'building', message: expect.stringContaining('garage') }),
        ]);

        const idMismatch = await put('/api/sites/bern/devices/other-id', {
          building: 'house',
          device: meter(device.port),
        });
        expect(idMismatch.statusCode).toBe(400);
        expect(idMismatch.json().details.issues[0].path).toBe('device.id');

        expect(await savedIds()).toEqual([]);
        expect(gateways.devices()).toEqual([]);
      }, 60_000);

      it('saves a device: stored, audited, in the sites list and polled live into the hub', async () => {
        const key = 'bern/sub-meter/power';
        const live = firstValueFrom(
          hub.readings$.pipe(
            filter((r) => r.pointId === key && r.quality === 'good'),
            timeout(60_000),
          ),
        );
        const res = await put('/api/sites/bern/devices/sub-meter', {
          building: 'house',
          device: meter(device.port),
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toEqual({
          device: 'sub-meter',
          polling: true,
          points: ['bern/sub-meter/power', 'bern/sub-meter/voltage_l1', 'bern/sub-meter/energy_import'],
        });
        expect(await savedIds()).toEqual(['sub-meter']);
        expect(gateways.devices()).toEqual(['bern/sub-meter']);
        expect((await live).value).toBe(2345.5);

        const listed = (await app.inject({ url: '/api/sites', headers: { cookie: manager } })).json().sites;
        const bern = listed.find((s: { id: string }) => s.id === 'bern');
        expect(bern.buildings[0].devices.map((d: { id: string }) => d.id)).toEqual(['sub-meter']);
        expect(bern.buildings[0].devices[0].points[0]).toMatchObject({ key, unit: 'W' });

        const admin = await loginCookie(app, ROLE_USERS.admin.username, ROLE_USERS.admin.password);
        const audit = (await app.inject({ url: '/api/audit?limit=20', headers: { cookie: admin } })).json();
        expect(audit.entries ?? audit.audit ?? audit).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              actor: ROLE_USERS.manager.username,
              action: 'config_change',
              target: 'bern/sub-meter',
            }),
          ]),
        );

        // Saving it again (a changed mapping) replaces it: still polled once.
        const again = await put('/api/sites/bern/devices/sub-meter', {
          building: 'house',
          device: { ...meter(device.port), points: [{ id: 'power', kind: 'active_power' }] },
        });
        expect(again.statusCode).toBe(200);
        expect(gateways.devices()).toEqual(['bern/sub-meter']);
      }, 90_000);

      it('answers 404 to a manager outside the site, for every device route, and saves nothing there', async () => {
        const test = await post('/api/sites/basel/devices/test', { device: meter(device.port) });
        expect(test.statusCode).toBe(404);
        const save = await put('/api/sites/basel/devices/sub-meter', {
          building: 'house',
          device: meter(device.port),
        });
        expect(save.statusCode).toBe(404);
        // Even with a bad body, an outsider learns nothing about validation.
        expect((await put('/api/sites/basel/devices/x', { nonsense: true })).statusCode).toBe(404);
        const list = await app.inject({ url: '/api/sites/basel/devices', headers: { cookie: manager } });
        expect(list.statusCode).toBe(404);
        const admin = await loginCookie(app, ROLE_USERS.admin.username, ROLE_USERS.admin.password);
        const asAdmin = await app.inject({ url: '/api/sites/basel/devices', headers: { cookie: admin } });
        expect(asAdmin.json().devices).toEqual([]);
      }, 60_000);
    },
  );
}
