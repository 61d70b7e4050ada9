import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startCli } from '../cli/testing.js';
import { packageRoot } from '../config/version.js';
import { SUNSPEC_LAYOUT } from '../sim/modbus/sunspec.js';
import { freePortPair } from '../sim/testing.js';
import { type ActivationView, drAwardNow, saveAwardIn, untilResumed } from '../testkit/market.js';
import { until } from '../testkit/wait.js';
import { sendUserRequest } from './control.js';

/**
 * Issue #13 item 7, the command lease: `gridflex run` writes the battery's own fail-safe
 * (SunSpec 124 InOutWRte_RvrtTms) with its commands, so after a `kill -9` of the controller the
 * battery is back under its own control within the lease. The simulator runs as a separate
 * process at speed 1 (its watchdog on the wall clock); the test reads its registers over Modbus.
 */

const LEASE_S = 45;
/** The simulator's own timeout before Gridflex writes one (its scenario default). */
const FACTORY_S = 60;
const BATTERY_UNIT = 21;
type Json = Record<string, unknown>;

describe('gridflex run: the command lease survives a kill -9 of the controller', () => {
  let dir: string;
  let data: string;
  let simPort: number;
  let configFile: string;
  const children: { stop: () => Promise<number | null> }[] = [];
  const client = new (ModbusSerial as unknown as new () => ModbusRTU)();

  /** StorCtl_Mod and InOutWRte_RvrtTms of the simulated battery, as its registers say now. */
  const storage = async () => {
    if (!client.isOpen) {
      await client.connectTCP('127.0.0.1', { port: simPort });
      client.setTimeout(2000);
    }
    client.setID(BATTERY_UNIT);
    const r = (await client.readHoldingRegisters(SUNSPEC_LAYOUT.third, 16)).data;
    // StorCtl_Mod, OutWRte (% of WChaMax, scale −2), InOutWRte_RvrtTms.
    return {
      mode: r[5]!,
      revertS: r[15]!,
      dischargePct: r[12]! / 100,
      chargePct: r[13]! / 100,
      socRaw: r[8]!,
    };
  };
  const start = () =>
    startCli(
      ['run', '--config', configFile, '--data', data],
      /running at (http:\/\/\S+)[\s\S]*Press Ctrl-C/,
      { GRIDFLEX_ADMIN_PASSWORD: 'e2e-lease-password' },
      150_000,
    );

  /**
   * `kill -9` the controller, then wait for the battery to be back under its own control
   * (nothing writes now: the simulator's watchdog hands it back after the lease); the seconds
   * that took.
   */
  const killAndAwaitRevert = async (run: Awaited<ReturnType<typeof start>>, what: string) => {
    const killedAt = Date.now();
    const closed = new Promise((r) => run.child.once('close', r));
    run.child.kill('SIGKILL');
    await closed;
    // Killed, not stopped: nothing left for afterAll to stop.
    children.splice(children.indexOf(run), 1);
    await until('the battery back under its own control', async () => (await storage()).mode === 0, 120_000);
    const revertedS = (Date.now() - killedAt) / 1000;
    console.log(`lease e2e: ${what} back on its own control ${revertedS.toFixed(1)} s after kill -9`);
    return revertedS;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-lease-e2e-'));
    data = join(dir, 'data');
    simPort = await freePortPair();
    const sim = await startCli(
      ['sim', '--scenario', 'zev-bern', '--port-base', String(simPort), '--pki', join(dir, 'sim-pki')],
      /Press Ctrl-C/,
      {},
      180_000,
    );
    children.push(sim);
    // The shipped example, pointed at this simulator, its battery leased: the revert timeout
    // allow-listed on the device and bound on the asset.
    const example = (await readFile(`${packageRoot()}/deploy/examples/gridflex.yaml`, 'utf8'))
      .replaceAll('port: 5020', `port: ${simPort}`)
      .replaceAll('127.0.0.1:5021', `127.0.0.1:${simPort + 1}`);
    const config = parse(example) as Json & { sites: Json[] };
    const house = (config.sites[0]!.buildings as { devices: Json[]; assets: Json[] }[])[0]!;
    const device = house.devices.find((d) => d.id === 'house-battery') as { points: Json[] };
    device.points.push({
      id: 'revert_timeout',
      kind: 'setpoint',
      unit: 's',
      register: '124.InOutWRte_RvrtTms',
      writable: true,
      min: LEASE_S,
      max: 3600,
    });
    const battery = house.assets.find((a) => a.id === 'battery') as { control: Json; lease?: Json };
    battery.control.revert_timeout = 'zev-bern/house-battery/revert_timeout';
    battery.lease = { revertS: LEASE_S };
    config.listen = { host: '127.0.0.1', port: 0 };
    config.ledger = { communities: [] };
    configFile = join(dir, 'gridflex.yaml');
    await writeFile(configFile, stringify(config));
    expect((await storage()).revertS).toBe(FACTORY_S);
  }, 240_000);

  afterAll(async () => {
    if (client.isOpen) await new Promise<void>((r) => client.close(() => r()));
    for (const c of children.reverse()) await c.stop().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the battery returns to its own control within the lease after kill -9, and a restart takes it again', async () => {
    const first = await start();
    children.push(first);
    // The optimiser's first plan takes the battery (StorCtl_Mod 3), the lease written first.
    await until(
      'the optimiser to take the battery under the lease',
      async () => {
        const s = await storage();
        return s.mode === 3 && s.revertS === LEASE_S;
      },
      240_000,
    );
    expect(await storage()).toMatchObject({ mode: 3, revertS: LEASE_S });

    const revertedS = await killAndAwaitRevert(first, 'battery');
    // Within the lease from the last write before the kill (plus the simulator's step and a poll),
    // before the simulator's own 60 s could have lapsed from a write at the kill.
    expect(revertedS).toBeLessThanOrEqual(LEASE_S + 5);

    // A restart on the same data folder (after the crash) commands the battery again, leased.
    const second = await start();
    children.push(second);
    await until(
      'the restarted controller to take the battery again',
      async () => (await storage()).mode === 3,
      240_000,
    );
    expect((await storage()).revertS).toBe(LEASE_S);
    expect(await second.stop()).toBe(0);
  }, 600_000);
  it('an activation under way when the controller is killed: the battery reverts within the lease, and the restart resumes it', async () => {
    // The example portfolio's DR award for this hour (sold before it began), so an operator
    // can call an activation at once.
    await saveAwardIn(data, 'zev-bern', drAwardNow([{ siteId: 'zev-bern', kw: 10 }]));
    const startedMs = Date.now();
    const first = await start();
    children.push(first);
    const base = first.match[1]!;
    const actor = 'e2e';
    await sendUserRequest(data, {
      op: 'add',
      actor,
      username: 'ops',
      role: 'operator',
      grants: ['portfolio:zev-bern'],
    });
    const token = await sendUserRequest(data, {
      op: 'token',
      actor,
      username: 'ops',
      name: 'e2e',
      write: true,
    });
    const operator = token.op === 'token' ? `Bearer ${token.token}` : '';
    const event = async (id: string) => {
      const res = await fetch(`${base}/api/portfolios/zev-bern/events/${id}`, {
        headers: { authorization: operator },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as ActivationView;
    };
    // Readings flow before anything is posted: the market sizes the battery from its measured
    // state of charge (an activation posted before the first reading fails, saying so). The
    // registers may still hold the last run's mode 3 until its lease lapses, so the sign is this
    // run's first optimiser write, planned from a measured state of charge.
    const admin = await sendUserRequest(data, {
      op: 'token',
      actor,
      username: 'admin',
      name: 'e2e',
      write: false,
    });
    // Its whole command: the mode is written last (control/drivers.ts `storage124`), so the
    // market sizes the battery from this command, not from a power reading a poll behind it.
    await until(
      "this run's optimiser commanding the battery (its mode written)",
      async () => {
        const res = await fetch(`${base}/api/sites/zev-bern/writes`, {
          headers: { authorization: admin.op === 'token' ? `Bearer ${admin.token}` : '' },
        });
        if (res.status !== 200) return false;
        const { writes } = (await res.json()) as {
          writes: { who: string; ts: string; outcome: string; point: string }[];
        };
        return writes.some(
          (w) =>
            w.who === 'optimizer' &&
            w.point === 'mode' &&
            w.outcome === 'written' &&
            Date.parse(w.ts) >= startedMs,
        );
      },
      240_000,
    );
    const id = `kill-${Date.now()}`;
    const posted = await fetch(`${base}/api/portfolios/zev-bern/events`, {
      method: 'POST',
      headers: { authorization: operator, 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ id, productId: 'dr-event', kw: 5, durationMs: 30 * 60_000 }),
    });
    expect(posted.status, await posted.clone().text()).toBe(201);
    let last: unknown;
    const lastStorage = await storage();
    await until(
      () =>
        `the activation active: ${JSON.stringify(last)}\nbattery now ${JSON.stringify(lastStorage)}\n${first.output().slice(-3000)}`,
      async () => {
        const v = await event(id);
        last = v;
        return v.activation.state === 'active';
      },
      60_000,
    );
    // The market discharges the battery, its lease written with the activation's commands.
    await until(
      'the market to discharge the battery',
      async () => {
        const s = await storage();
        return s.mode === 3 && s.dischargePct > 0 && s.revertS === LEASE_S;
      },
      60_000,
    );

    const revertedS = await killAndAwaitRevert(first, 'mid-activation, battery');
    expect(revertedS).toBeLessThanOrEqual(LEASE_S + 5);

    // The restart finds the activation open and resumes it (after its 30 s grace): the market
    // discharges the battery again and the history says why.
    const second = await start();
    children.push(second);
    const restartedAt = second.match[1]!;
    const resumed = await untilResumed(async () => {
      const res = await fetch(`${restartedAt}/api/portfolios/zev-bern/events/${id}`, {
        headers: { authorization: operator },
      });
      return res.status === 200 ? ((await res.json()) as ActivationView) : undefined;
    }, 180_000);
    expect(resumed.history.map((h) => h.state)).toEqual([
      'received',
      'dispatching',
      'active',
      'dispatching',
      'active',
    ]);
    await until(
      'the market to discharge the battery again',
      async () => {
        const s = await storage();
        return s.mode === 3 && s.dischargePct > 0;
      },
      60_000,
    );
    expect(await second.stop()).toBe(0);
  }, 600_000);
});
