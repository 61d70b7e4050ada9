import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import {
  AttributeIds,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
} from 'node-opcua';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, startCli } from '../cli/testing.js';
import { validateConfig } from '../config/load.js';
import { GatewayConfigSchema } from '../gateway/index.js';
import { freePortPair } from './testing.js';

const dir = await mkdtemp(join(tmpdir(), 'gridflex-sim-cli-'));
// Both runs share the PKI folder, so the OPC UA certificate is created once.
const pki = join(dir, 'pki');
afterAll(() => rm(dir, { recursive: true, force: true }));

async function modbusClient(port: number): Promise<ModbusRTU> {
  const c = new (ModbusSerial as unknown as new () => ModbusRTU)();
  await c.connectTCP('127.0.0.1', { port });
  c.setTimeout(2000);
  return c;
}

describe('gridflex sim', () => {
  it('refuses bad options naming the flag, and unknown scenarios', async () => {
    const bad = await runCli(['sim', '--scenario', 'zev-bern', '--speed', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--speed');
    const unknown = await runCli(['sim', '--scenario', 'atlantis']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown scenario atlantis');
    const start = await runCli(['sim', '--scenario', 'zev-bern', '--start', 'tuesday morning']);
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('--start');
  }, 180_000);

  it('prints a whole gridflex.yaml for lappeenranta that `config check` accepts: every fan an asset, a portfolio', async () => {
    const out = await runCli(['sim', '--scenario', 'lappeenranta', '--port-base', '6100', '--print-config']);
    expect(out.code, out.stderr).toBe(0);
    type Asset = {
      id: string;
      type: string;
      control?: { speed?: string };
      minSpeedPct?: number;
      costPerKwh?: number;
    };
    const cfg = parse(out.stdout) as {
      sites: { id: string; buildings: { id: string; assets: Asset[]; devices: { id: string }[] }[] }[];
      market: { portfolios: { id: string; sites: string[]; products: string[] }[] };
    };
    const site = cfg.sites[0]!;
    expect(site.buildings).toHaveLength(17);
    const fans = site.buildings.flatMap((b) => b.assets).filter((a) => a.type === 'sheddable');
    // The scenario's ~100 air-handling units, each on its BMS speed setpoint, slowed no lower
    // than its drive allows and not shed for energy arbitrage.
    expect(fans).toHaveLength(102);
    expect(fans[0]).toMatchObject({
      id: 'school-1-ahu-1',
      control: { speed: 'lappeenranta/school-1-bms/ahu-1-speed' },
      minSpeedPct: 40,
      costPerKwh: 0.5,
    });
    expect(site.buildings.every((b) => b.devices.some((d) => d.id === `${b.id}-grid-meter`))).toBe(true);
    expect(cfg.market.portfolios[0]).toMatchObject({ id: 'lappeenranta', sites: ['lappeenranta'] });
    expect(cfg.market.portfolios[0]!.products).toContain('fcr-n');
    const file = join(dir, 'lappeenranta.yaml');
    await writeFile(file, out.stdout);
    const check = await runCli(['config', 'check', '--config', file]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/site lappeenranta: 43 devices, 111 assets/);
  }, 180_000);

  it('prints a gateway file for a scenario without starting it', async () => {
    const out = await runCli([
      'sim',
      '--scenario',
      'zev-bern',
      '--port-base',
      '6000',
      '--print-gateway-config',
    ]);
    expect(out.code).toBe(0);
    const cfg = validateConfig(GatewayConfigSchema, parse(out.stdout), 'printed gateway file');
    expect(cfg.devices.find((d) => d.id === 'house-grid-meter')?.connection).toMatchObject({
      port: 6000,
      unitId: 1,
    });
  }, 180_000);

  it('runs zev-bern: prints the endpoints, writes the JSON list, and its meters answer', async () => {
    const port = await freePortPair();
    const json = join(dir, 'zev.json');
    const run = await startCli(
      [
        'sim',
        '--scenario',
        'zev-bern',
        '--port-base',
        String(port),
        '--speed',
        '60',
        '--endpoints-json',
        json,
        '--pki',
        pki,
      ],
      /Press Ctrl-C/,
      {},
      120_000,
    );
    try {
      expect(run.output()).toMatch(/house\s+grid-meter\s+modbus sdm630\s+127\.0\.0\.1:\d+\s+unit 1/);
      const doc = JSON.parse(await readFile(json, 'utf8'));
      expect(doc.modbus.port).toBe(port);
      expect(doc.opcua.endpointUrl).toBe(`opc.tcp://127.0.0.1:${port + 1}/gridflex-sim`);
      expect(doc.endpoints.filter((e: { protocol: string }) => e.protocol === 'modbus')).toHaveLength(18);
      const c = await modbusClient(port);
      // An apartment meter, not the grid meter: at midday the building exports and grid import stands still.
      c.setID(2);
      const before = (await c.readInputRegisters(0x48, 2)).buffer.readFloatBE(0);
      await new Promise((r) => setTimeout(r, 1500));
      const after = (await c.readInputRegisters(0x48, 2)).buffer.readFloatBE(0);
      expect(after).toBeGreaterThan(before); // 90 simulated seconds of the apartment's consumption
      c.setID(20);
      expect((await c.readHoldingRegisters(40000, 2)).buffer.toString('ascii')).toBe('SunS');
      await new Promise<void>((r) => c.close(() => r()));
    } finally {
      expect(await run.stop()).toBe(0);
    }
  }, 240_000);

  it('runs lappeenranta: 17 buildings on Modbus and OPC UA', async () => {
    const port = await freePortPair();
    const run = await startCli(
      ['sim', '--scenario', 'lappeenranta', '--port-base', String(port), '--pki', pki],
      /Press Ctrl-C/,
      {},
      120_000,
    );
    const certs = new OPCUACertificateManager({
      rootFolder: join(dir, 'client-pki'),
      automaticallyAcceptUnknownCertificate: true,
    });
    const client = OPCUAClient.create({
      securityMode: MessageSecurityMode.None,
      securityPolicy: SecurityPolicy.None,
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 0 },
      clientCertificateManager: certs,
    });
    try {
      expect(run.output().match(/ opcua /g)).toHaveLength(17);
      await client.connect(`opc.tcp://127.0.0.1:${port + 1}/gridflex-sim`);
      const session = await client.createSession();
      const ns = (await session.readNamespaceArray()).indexOf('urn:gridflex:sim');
      const speed = await session.read({
        nodeId: `ns=${ns};s=lappeenranta/school-1/Ventilation/ahu-1/Speed`,
        attributeId: AttributeIds.Value,
      });
      expect(speed.statusCode.isGood()).toBe(true);
      expect(typeof speed.value.value).toBe('number');
      await session.close();
      const c = await modbusClient(port);
      c.setID(1);
      const w = (await c.readInputRegisters(0x34, 2)).buffer.readFloatBE(0);
      expect(Number.isFinite(w)).toBe(true);
      await new Promise<void>((r) => c.close(() => r()));
    } finally {
      await client.disconnect();
      expect(await run.stop()).toBe(0);
    }
  }, 240_000);
});
