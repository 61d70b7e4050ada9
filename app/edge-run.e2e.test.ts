import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startCli } from '../cli/testing.js';
import { packageRoot } from '../config/version.js';
import type { RunningSimulator } from '../sim/runner.js';
import { freePortPair } from '../sim/testing.js';
import { startZevBernSimulator } from '../testkit/simulator.js';
import { until } from '../testkit/wait.js';
import { brokerSkipReason, SHARED_BROKER } from '../uplink/testing.js';
import { sendUserRequest } from './control.js';

/**
 * Issue #14 item 2, end to end: a building served by an edge. The zev-bern simulator (real
 * Modbus and OPC UA), `gridflex edge` polling it as its own process, and `gridflex run` as
 * central with an `uplink:` section naming that edge, on the shared Mosquitto. Central polls
 * nothing of the site: its readings arrive over MQTT, its live optimiser plans it, and the
 * battery setpoints go to the edge as commands that the edge writes through its safety layer.
 * Then central is killed (-9): its lease renewals stop, and when the lease ends the edge writes
 * its configured safe value (battery mode 0: back on its own control).
 */

const skip = await brokerSkipReason();
const ADMIN_PASSWORD = 'edge-e2e-admin';
type Json = Record<string, unknown>;

describe.skipIf(skip)(
  'a site served by an edge: central plans it, the edge writes it, and falls back',
  () => {
    let dir: string;
    let sim: RunningSimulator;
    let edge: Awaited<ReturnType<typeof startCli>>;
    let central: Awaited<ReturnType<typeof startCli>>;
    const tenant = `e2e${randomBytes(3).toString('hex')}`;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gfx-edge-e2e-'));
      const port = await freePortPair();
      sim = await startZevBernSimulator({ pkiDir: join(dir, 'sim-pki'), portBase: port });
      const example = (await readFile(`${packageRoot()}/deploy/examples/gridflex.yaml`, 'utf8'))
        .replaceAll('port: 5020', `port: ${port}`)
        .replaceAll('127.0.0.1:5021', `127.0.0.1:${port + 1}`);
      const config = parse(example) as Json & { sites: Json[] };
      const site = config.sites[0] as { buildings: { devices: { id: string }[] }[] };

      // The edge: the building's meter, PV and battery, polled every second, its uplink to the
      // shared broker, and the battery's mode back to 0 when central's lease ends.
      const devices = site.buildings[0]!.devices.filter((d) =>
        ['house-grid-meter', 'house-pv', 'house-battery'].includes(d.id),
      );
      await writeFile(
        join(dir, 'edge.yaml'),
        stringify({
          site: 'zev-bern',
          pollInterval: '1s',
          devices,
          uplink: {
            broker: SHARED_BROKER,
            tenant,
            edge: 'edge-zev-bern',
            batchMs: 500,
            fallback: { 'house-battery/mode': 0 },
          },
        }),
      );
      // Central: the same site (its devices describe the points), served by that edge; a short
      // lease so the fallback comes within the test.
      config.listen = { host: '127.0.0.1', port: 0 };
      config.ledger = { communities: [] };
      config.uplink = {
        broker: SHARED_BROKER,
        tenant,
        clientId: `gf-central-${tenant}`,
        edges: { [`${tenant}/zev-bern`]: 'edge-zev-bern' },
        lease: '10s',
        answerTimeout: '5s',
      };
      await writeFile(join(dir, 'gridflex.yaml'), stringify(config));

      [edge, central] = await Promise.all([
        startCli(
          ['edge', '--config', join(dir, 'edge.yaml'), '--data', join(dir, 'edge-data')],
          /Press Ctrl-C/,
          {},
          120_000,
        ),
        startCli(
          ['run', '--config', join(dir, 'gridflex.yaml'), '--data', join(dir, 'central-data')],
          /running at (http:\/\/\S+)[\s\S]*Press Ctrl-C/,
          { GRIDFLEX_ADMIN_PASSWORD: ADMIN_PASSWORD, GRIDFLEX_DATA: join(dir, 'central-data') },
          150_000,
        ),
      ]);
    }, 300_000);

    afterAll(async () => {
      await edge?.stop().catch(() => {});
      central?.child.kill('SIGKILL');
      await sim?.stop().catch(() => {});
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('stores the edge readings, dispatches the optimiser through the edge, and falls back when central dies', async () => {
      const base = central.match[1]!;
      const out = central.output();
      expect(out).toContain(`zev-bern served by an edge (${tenant})`);
      // Central polls none of the site's devices: the edge does.
      expect(out).not.toMatch(/polling[^\n]*zev-bern/);
      const token = await sendUserRequest(join(dir, 'central-data'), {
        op: 'token',
        actor: 'e2e',
        username: 'admin',
        name: 'e2e',
        write: false,
      });
      const admin = token.op === 'token' ? `Bearer ${token.token}` : '';
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`, { headers: { authorization: admin } });
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as Json;
      };

      // The edge's readings reach central's store over MQTT.
      await until(
        () => `central to store the edge's grid meter readings\n${edge.output().slice(-600)}`,
        async () => {
          const key = encodeURIComponent('zev-bern/house-grid-meter/power');
          const r = (await get(`/api/points/${key}/readings?bucket=raw`)).readings as {
            value: number | null;
          }[];
          return r.some((x) => x.value !== null);
        },
        90_000,
      );

      // Central's optimiser commands the battery; the edge writes it and reads it back.
      const written = await until(
        () => `an optimiser write of the battery mode through the edge\n${central.output().slice(-800)}`,
        async () => {
          const w = (await get('/api/sites/zev-bern/writes')).writes as {
            device: string;
            point: string;
            who: string;
            outcome: string;
            value: number | null;
            readBack: number | null;
          }[];
          return w.find(
            (x) =>
              x.device === 'house-battery' && x.point === 'mode' && x.outcome === 'written' && x.value === 3,
          );
        },
        150_000,
      );
      expect(written.who).toMatch(/optimi[sz]er/);
      expect(written.readBack).toBe(3);
      // The edge's own audit of the same write: through its safety layer, as central's command.
      const edgeAudit = async () =>
        (await readFile(join(dir, 'edge-data', 'writes.jsonl'), 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map(
            (l) =>
              JSON.parse(l) as {
                ts: number;
                who: string;
                point: string;
                device: string;
                value: number;
                outcome: string;
                why: string;
              },
          );
      expect(
        (await edgeAudit()).some(
          (w) => w.who === 'central' && w.point === 'mode' && w.value === 3 && w.outcome === 'written',
        ),
      ).toBe(true);

      // Central dies without a word. While its lease (10 s, renewed every third) holds the battery
      // stays commanded; then the edge writes its safe value.
      const killedAt = Date.now();
      central.child.kill('SIGKILL');
      const fallback = await until(
        () => `the edge to write its fallback after central died\n${edge.output().slice(-800)}`,
        async () =>
          (await edgeAudit()).find(
            (w) => w.who === 'edge' && w.device === 'house-battery' && w.point === 'mode' && w.value === 0,
          ),
        60_000,
      );
      // Not before the last renewal's lease could have run out (at least 10 − 3.3 s after the kill).
      expect(fallback.ts - killedAt).toBeGreaterThan(5_000);
      expect(fallback.outcome).toBe('written');
      expect(fallback.why).toMatch(/lease of central command .* ended/);
      expect(edge.output()).toContain('fallback house-battery/mode = 0: written');
    }, 360_000);
  },
);
