import { type AddressInfo, createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevice, SiteDevices } from '../../app/devices.js';
import { LiveGateways } from '../../app/runtime.js';
import { buildApp } from '../../app/testing.js';
import { freePort, sdm630Image, startModbusTcp, type TestDevice } from '../../gateway/testing.js';
import { listPoints, type Site } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { announceSkip, testBackends } from '../../store/testing.js';
import { Hub } from '../../stream/index.js';
import { roleCookie } from '../../testkit/login.js';
import { bernSite, house, modbusMeter, testSites } from '../../testkit/sites.js';
import { addRoleUsers } from '../../testkit/users.js';

/** A battery the configuration file defines: bern's at unit 3, basel's at unit 2 of the same gateway. */
const battery = (port: number, unitId: number) => modbusMeter('battery', { port, unitId });

/** Two sites: the manager's `bern`, and `basel` which is not theirs, each with a configured battery. */
function twoSites(port: number): Site[] {
  const site = (id: string, unitId: number) =>
    bernSite({ id, name: `ZEV ${id}`, buildings: [house([battery(port, unitId)])] });
  return testSites(site('bern', 3), site('basel', 2));
}

/** What bern's administrator allows its managers: this machine's unprivileged ports, power setpoints up to 5 kW. */
const POLICY = {
  networks: [{ cidr: '127.0.0.0/8', ports: [{ from: 1024, to: 65535 }] }],
  serialPorts: ['/dev/ttyUSB0'],
  writes: [{ kind: 'setpoint', unit: 'W', min: -5000, max: 5000 }],
};

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
      let admin: string;
      const origin = 'http://localhost';

      beforeAll(async () => {
        store = await backend.open();
        device = await startModbusTcp(sdm630Image({ power: 2345.5 }));
        sites = twoSites(device.port);
        await store.readings.describePoints(listPoints(sites));
        gateways = new LiveGateways(hub, { link: { minBackoffMs: 50, maxBackoffMs: 500 } });
        app = await buildApp({ store, hub, sites, version: 'test', devices: gateways });
        await addRoleUsers(store);
        manager = await roleCookie(app, 'manager');
        admin = await roleCookie(app, 'admin');
        const set = await app.inject({
          method: 'PUT',
          url: '/api/sites/bern/device-policy',
          headers: { cookie: admin, origin },
          payload: POLICY,
        });
        expect(set.statusCode, set.body).toBe(200);
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

      it('answers a closed port and a silent open one with the same words (no port scanning through the test)', async () => {
        const closed = await freePort();
        const silent = createServer(() => undefined); // accepts, never answers
        await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
        const open = (silent.address() as AddressInfo).port;
        try {
          const [a, b] = await Promise.all([
            post('/api/sites/bern/devices/test', { device: meter(closed) }),
            post('/api/sites/bern/devices/test', { device: meter(open) }),
          ]);
          expect([a.statusCode, b.statusCode]).toEqual([502, 502]);
          expect(a.json().message.replace(String(closed), 'PORT')).toBe(
            b.json().message.replace(String(open), 'PORT'),
          );
          expect(a.body).not.toMatch(/ECONNREFUSED|timed? ?out/i);
        } finally {
          silent.close();
        }
      }, 60_000);

      it("confines a manager to the site's declared address ranges, serial ports, writes and heartbeats", async () => {
        const refused = async (body: unknown, path: string) => {
          for (const res of [
            await post('/api/sites/bern/devices/test', { device: body }),
            await put('/api/sites/bern/devices/sneaky', { building: 'house', device: body }),
          ]) {
            expect(res.statusCode, res.body).toBe(403);
            expect(res.json().error).toBe('GFX_DEVICE_NOT_ALLOWED');
            expect(res.json().details.issues[0].path).toBe(path);
          }
        };
        const sneaky = { ...meter(device.port), id: 'sneaky' };
        await refused(
          { ...sneaky, connection: { transport: 'tcp', host: '10.1.2.3', port: 502, unitId: 1 } },
          'device.connection.host',
        );
        await refused(
          { ...sneaky, connection: { transport: 'tcp', host: 'localhost', port: device.port, unitId: 1 } },
          'device.connection.host',
        );
        await refused(
          { ...sneaky, connection: { transport: 'tcp', host: '127.0.0.1', port: 502, unitId: 1 } },
          'device.connection.host',
        );
        await refused(
          { ...sneaky, connection: { transport: 'rtu', path: '/etc/passwd', unitId: 1 } },
          'device.connection.path',
        );
        // A user certificate is a name in the PKI folder, never a path on the server.
        await refused(
          {
            id: 'sneaky',
            protocol: 'opcua',
            connection: {
              endpointUrl: `opc.tcp://127.0.0.1:${device.port}`,
              securityMode: 'Sign',
              securityPolicy: 'Basic256Sha256',
              auth: { type: 'certificate', certificateFile: '/etc/shadow', privateKeyFile: 'key.pem' },
            },
            points: [{ id: 'power', kind: 'active_power', nodeId: 'ns=1;s=P' }],
          },
          'device.connection.auth.certificateFile',
        );
        const writable = (min: number, max: number) => ({
          ...sneaky,
          profile: 'gen',
          points: [{ id: 'limit', kind: 'setpoint', unit: 'W', writable: true, min, max, register: 'limit' }],
        });
        const profiles = {
          gen: { registers: { limit: { function: 'holding', address: 100, type: 'int16', writable: true } } },
        };
        for (const [body, path] of [
          [writable(0, 65535), 'device.points[0].max'],
          [{ ...writable(0, 1000), heartbeat: { point: 'limit', interval: '2s' } }, 'device.heartbeat'],
        ] as const) {
          const res = await put('/api/sites/bern/devices/sneaky', {
            building: 'house',
            device: body,
            profiles,
          });
          expect(res.statusCode, res.body).toBe(403);
          expect(res.json().details.issues[0].path).toBe(path);
        }
        expect(await savedIds()).toEqual([]);
      }, 60_000);

      it("refuses to replace a configured device or to reach another site's device, and saves nothing", async () => {
        // The configuration file's battery: neither replaced nor widened over the API.
        const replace = await put('/api/sites/bern/devices/battery', {
          building: 'house',
          device: { ...battery(device.port, 3), name: 'mine now' },
        });
        expect(replace.statusCode, replace.body).toBe(409);
        expect(replace.json().error).toBe('GFX_DEVICE_CONFIGURED');
        // Basel's battery (same gateway, unit 2) under a new name in bern: one physical device, one site.
        const steal = await put('/api/sites/bern/devices/basel-battery', {
          building: 'house',
          device: { ...battery(device.port, 2), id: 'basel-battery' },
        });
        expect(steal.statusCode, steal.body).toBe(409);
        expect(steal.json().error).toBe('GFX_DEVICE_TAKEN');
        // Nor by spelling the same address differently.
        const mapped = await put('/api/sites/bern/devices/basel-battery', {
          building: 'house',
          device: {
            ...battery(device.port, 2),
            id: 'basel-battery',
            connection: { transport: 'tcp', host: '::ffff:127.0.0.1', port: device.port, unitId: 2 },
          },
        });
        expect(mapped.statusCode, mapped.body).toBe(409);
        expect(await savedIds()).toEqual([]);
        const basel = sites.find((s) => s.id === 'basel')!;
        expect(basel.buildings[0]!.devices[0]!.connection).toMatchObject({ unitId: 2 });
        // A device of the configuration's gateway file (not in the sites) is just as configured.
        const gatewayFile = parseDevice('bern', { ...meter(device.port), id: 'gw-meter' }, {});
        const withGateway = new SiteDevices({ store, sites, gateways: [gatewayFile] });
        const asManager = { username: 'max', role: 'manager' };
        await expect(
          withGateway.save(
            'bern',
            'gw-meter',
            { building: 'house', device: { ...meter(device.port), id: 'gw-meter' } },
            asManager,
            async () => undefined,
          ),
        ).rejects.toMatchObject({ code: 'GFX_DEVICE_CONFIGURED' });
        await expect(
          withGateway.test('bern', { device: meter(device.port) }, asManager),
        ).rejects.toMatchObject({ code: 'GFX_DEVICE_TAKEN' });
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
        expect(bern.buildings[0].devices.map((d: { id: string }) => d.id)).toEqual(['battery', 'sub-meter']);
        expect(bern.buildings[0].devices[1].points[0]).toMatchObject({ key, unit: 'W' });

        // Saving it again (a changed mapping, another unit) replaces it: still polled once.
        const moved = {
          ...meter(device.port),
          connection: { transport: 'tcp', host: '127.0.0.1', port: device.port, unitId: 5 },
        };
        const again = await put('/api/sites/bern/devices/sub-meter', {
          building: 'house',
          device: { ...moved, points: [{ id: 'power', kind: 'active_power' }] },
        });
        expect(again.statusCode).toBe(200);
        expect(gateways.devices()).toEqual(['bern/sub-meter']);

        // The audit log has both saves, the second with the old and the new address and limits.
        const audit = (await app.inject({ url: '/api/audit?limit=20', headers: { cookie: admin } })).json();
        const saves = (
          audit.entries as {
            actor: string;
            action: string;
            target: string;
            details: { before: unknown; after: unknown };
          }[]
        )
          .filter((e) => e.action === 'config_change' && e.target === 'bern/sub-meter')
          .reverse();
        expect(saves.map((e) => e.actor)).toEqual(['max', 'max']);
        expect(saves[0]!.details.before).toBeNull();
        expect(saves[1]!.details.before).toMatchObject({ address: `127.0.0.1:${device.port}`, unitId: 1 });
        expect(saves[1]!.details.after).toMatchObject({
          address: `127.0.0.1:${device.port}`,
          unitId: 5,
          points: [{ id: 'power', writable: false, min: null, max: null }],
        });
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
        const asAdmin = await app.inject({ url: '/api/sites/basel/devices', headers: { cookie: admin } });
        expect(asAdmin.json().devices).toEqual([]);
      }, 60_000);
    },
  );
}
