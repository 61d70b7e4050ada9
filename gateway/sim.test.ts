import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFor } from '../sim/gateway-config.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { Hub } from '../stream/index.js';
import { type GatewayConfig, GatewayConfigSchema } from './config.js';
import { Gateway } from './gateway.js';

/** The gateway against the zev-bern simulator: what a building manager's first hour looks like. */

let dir: string;
let running: RunningSimulator;
let userCert: { certificateFile: string; privateKeyFile: string };
let strangerCert: { certificateFile: string; privateKeyFile: string };

async function makeUserCertificate(
  name: string,
): Promise<{ certificateFile: string; privateKeyFile: string }> {
  const cm = new OPCUACertificateManager({ rootFolder: join(dir, `${name}-pki`) });
  await cm.initialize();
  const certificateFile = join(dir, `${name}.pem`);
  await cm.createSelfSignedCertificate({
    applicationUri: `urn:gridflex:test:${name}`,
    subject: `/CN=${name}`,
    dns: [],
    startDate: new Date(Date.now() - 3_600_000),
    validity: 30,
    outputFile: certificateFile,
  });
  const privateKeyFile = cm.privateKey;
  await cm.dispose();
  return { certificateFile, privateKeyFile };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gfx-gw-sim-'));
  userCert = await makeUserCertificate('bms-operator');
  strangerCert = await makeUserCertificate('stranger');
  // Trust the operator's certificate the way an administrator does: put it in the trusted folder.
  const simPki = join(dir, 'sim-pki');
  await mkdir(join(simPki, 'user', 'trusted', 'certs'), { recursive: true });
  await copyFile(userCert.certificateFile, join(simPki, 'user', 'trusted', 'certs', 'bms-operator.pem'));
  const scenario = await loadScenario('zev-bern');
  running = await startSimulator(scenario, {
    seed: 3,
    speed: 1,
    host: '127.0.0.1',
    portBase: await freePortPair(),
    pkiDir: simPki,
    startMs: Date.parse('2026-06-21T10:00:00Z'),
    now: Date.now,
  });
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The generated gateway file, with the BMS connection changed by `auth`. */
function config(only: 'opcua' | 'modbus', auth?: Record<string, unknown>): GatewayConfig {
  const generated = gatewayConfigFor(running.sim, running.endpoints) as {
    devices: { protocol: string; connection: Record<string, unknown> }[];
  };
  const devices = generated.devices
    .filter((d) => d.protocol === only)
    .map((d) => (auth ? { ...d, connection: { ...d.connection, auth } } : d));
  return GatewayConfigSchema.parse({ ...generated, devices });
}

async function pollBms(auth: Record<string, unknown>) {
  const gw = new Gateway(config('opcua', auth), new Hub(), {
    opcua: { pkiDir: join(dir, 'client-pki'), acceptUnknownCertificates: true },
  });
  try {
    return { out: await gw.pollOnce(), status: gw.status() };
  } finally {
    await gw.stop();
  }
}

describe('gateway against the simulator: OPC UA users', { timeout: 120_000 }, () => {
  it('reads the BMS as the scenario user with the right password', async () => {
    const { out, status } = await pollBms({ type: 'username', username: 'bms', password: 'gridflex-sim' });
    expect(out.errors).toEqual([]);
    expect(out.readings.length).toBeGreaterThan(3);
    expect(out.readings.every((r) => r.quality === 'good' && r.value !== null)).toBe(true);
    expect(status).toEqual([
      expect.objectContaining({ device: 'house-bms', protocol: 'opcua', state: 'ok' }),
    ]);
  });

  it('reports a wrong password as bad readings and an error naming the device and the user', async () => {
    const { out, status } = await pollBms({ type: 'username', username: 'bms', password: 'wrong' });
    expect(out.readings.length).toBeGreaterThan(3);
    expect(out.readings.every((r) => r.quality === 'bad' && r.value === null)).toBe(true);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatch(/^house-bms: .* refused a session for the user "bms"/);
    expect(status[0]).toMatchObject({ state: 'unreachable', failedPolls: 1 });
  });

  it('reads the BMS with a trusted X.509 user certificate', async () => {
    const { out } = await pollBms({ type: 'certificate', ...userCert });
    expect(out.errors).toEqual([]);
    expect(out.readings.every((r) => r.quality === 'good')).toBe(true);
  });

  it('reports an untrusted user certificate by its file, without crashing', async () => {
    const { out } = await pollBms({ type: 'certificate', ...strangerCert });
    expect(out.readings.every((r) => r.quality === 'bad')).toBe(true);
    expect(out.errors[0]).toContain(
      `refused a session for the user certificate ${strangerCert.certificateFile}`,
    );
  });

  it('names the config field when the user certificate file is missing', async () => {
    const { out } = await pollBms({
      type: 'certificate',
      certificateFile: join(dir, 'nope.pem'),
      privateKeyFile: userCert.privateKeyFile,
    });
    expect(out.readings.every((r) => r.quality === 'bad')).toBe(true);
    expect(out.errors[0]).toMatch(/^house-bms: cannot use connection\.auth\.certificateFile .*nope\.pem/);
  });
});

describe('gateway against the simulator: SunSpec model 123 power limit', { timeout: 120_000 }, () => {
  /** The simulated PV inverter, with its model 123 controls as points; only the limit and its switch allow-listed. */
  function inverterConfig(): GatewayConfig {
    const generated = gatewayConfigFor(running.sim, running.endpoints) as {
      devices: { protocol: string; points: { register?: string }[] }[];
    };
    const pv = generated.devices.find((d) => d.points.some((p) => p.register === '103.WH'))!;
    const control = { kind: 'setpoint', writable: true, minWriteInterval: '1ms' };
    return GatewayConfigSchema.parse({
      ...generated,
      devices: [
        {
          ...pv,
          points: [
            ...pv.points,
            // At most 80 % from Gridflex, whatever is asked.
            {
              ...control,
              id: 'limit',
              unit: '%',
              register: '123.WMaxLimPct',
              min: 0,
              max: 80,
              outOfRange: 'clamp',
            },
            { ...control, id: 'limit_enabled', unit: '', register: '123.WMaxLim_Ena', min: 0, max: 1 },
            // Readable, but not allow-listed: the revert timeout is the installer's.
            { id: 'limit_revert', kind: 'status', register: '123.WMaxLimPct_RvrtTms' },
          ],
        },
      ],
    });
  }

  it('writes WMaxLimPct through the safety layer: scaled by WMaxLimPct_SF, clamped, refused when not allow-listed', async () => {
    const cfg = inverterConfig();
    const device = cfg.devices[0]!.id;
    const gw = new Gateway(cfg, new Hub());
    const ask = (point: string, value: number) =>
      gw.write({ device, point, value, who: 'test', why: 'curtail PV' });
    try {
      const before = await gw.pollOnce();
      const limitId = `${cfg.site}/${device}/limit`;
      expect(before.readings.find((r) => r.pointId === limitId)).toMatchObject({
        value: 100,
        quality: 'good',
      });

      expect(await ask('limit_enabled', 1)).toMatchObject({ outcome: 'written', old: 0, readBack: 1 });
      expect(await ask('limit', 42.5)).toMatchObject({
        outcome: 'written',
        old: 100,
        value: 42.5,
        readBack: 42.5,
      });
      expect(await ask('limit', 95)).toMatchObject({
        outcome: 'written',
        clamped: true,
        value: 80,
        readBack: 80,
        reason: 'clamped to 80',
      });
      const revert = await ask('limit_revert', 0);
      expect(revert).toMatchObject({ outcome: 'refused', value: null });
      expect(revert.reason).toMatch(/not writable \(not allow-listed\)/);

      const after = await gw.pollOnce();
      const value = (id: string) =>
        after.readings.find((r) => r.pointId === `${cfg.site}/${device}/${id}`)?.value;
      expect(value('limit')).toBe(80);
      expect(value('limit_enabled')).toBe(1);
      expect(value('limit_revert')).toBeGreaterThan(0);
    } finally {
      await gw.stop();
    }
  });
});
