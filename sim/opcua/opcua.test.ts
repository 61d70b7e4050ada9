import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributeIds,
  ClientMonitoredItem,
  type ClientSession,
  ClientSubscription,
  DataType,
  type DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_NAMESPACE_INDEX } from '../gateway-config.js';
import type { EvChargerDevice, HeatPumpDevice, SheddableDevice } from '../physics/building.js';
import { Simulation } from '../physics/simulation.js';
import { loadScenario, ScenarioSchema } from '../scenario.js';
import { freePort } from '../testing.js';
import { SIM_NAMESPACE_URI, type SimOpcUaServer, startOpcUaServer } from './server.js';

const base = await loadScenario('zev-bern');
// zev-bern plus two ventilation units, so every kind of BMS node is present.
const scenario = ScenarioSchema.parse({
  ...base,
  buildings: [
    {
      ...base.buildings[0]!,
      devices: [
        ...base.buildings[0]!.devices,
        { id: 'ahu', count: 2, type: 'sheddable', kind: 'ventilation', ratedKw: 3.7, schedule: 'office' },
      ],
    },
  ],
});
const sim = new Simulation(scenario, { seed: 4, startMs: Date.parse('2026-01-14T07:00:00Z') });
sim.advanceBy(600);
const house = sim.buildings[0]!;
const zone = house.device('heat-pump') as HeatPumpDevice;
const ahu = house.device('ahu-1') as SheddableDevice;
const ev = house.device('ev-1') as EvChargerDevice;

let dir: string;
let server: SimOpcUaServer;
let clientCerts: OPCUACertificateManager;
const USER = { userName: 'bms', password: 'gridflex-sim' };

async function open(
  mode: MessageSecurityMode,
  policy: SecurityPolicy,
  user?: { userName: string; password: string },
) {
  const client = OPCUAClient.create({
    applicationName: 'gridflex-sim-test',
    securityMode: mode,
    securityPolicy: policy,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100 },
    clientCertificateManager: clientCerts,
  });
  await client.connect(server.endpointUrl);
  try {
    const session = await client.createSession(user ? { type: UserTokenType.UserName, ...user } : undefined);
    return { client, session };
  } catch (err) {
    await client.disconnect();
    throw err;
  }
}
const node = (path: string) => server.nodes.get(`zev-bern/house/${path}`)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gridflex-opcua-'));
  clientCerts = new OPCUACertificateManager({
    rootFolder: join(dir, 'client'),
    automaticallyAcceptUnknownCertificate: true,
  });
  server = await startOpcUaServer(sim, {
    host: '127.0.0.1',
    port: await freePort(),
    pkiDir: join(dir, 'pki'),
    username: USER.userName,
    password: USER.password,
  });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('OPC UA face, security None', () => {
  let session: ClientSession;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const c = await open(MessageSecurityMode.None, SecurityPolicy.None);
    session = c.session;
    close = async () => {
      await c.session.close();
      await c.client.disconnect();
    };
  });
  afterAll(() => close());

  it('browses a folder per building and per zone', async () => {
    const objects = await session.browse('ns=0;i=85');
    expect(objects.references!.map((r) => r.browseName.name)).toContain('zev-bern');
    const building = await session.browse(`ns=${node('Heartbeat').split(';')[0]!.slice(3)};s=zev-bern/house`);
    const names = building.references!.map((r) => r.browseName.name);
    expect(names).toEqual(
      expect.arrayContaining(['Heartbeat', 'GridPower', 'Zones', 'Ventilation', 'EvChargers']),
    );
    const zones = await session.browse(node('Zones/house/Temperature').replace('/Temperature', ''));
    expect(zones.references!.map((r) => r.browseName.name)).toEqual(
      expect.arrayContaining([
        'Temperature',
        'Setpoint',
        'HeatPumpEnabled',
        'HeatPumpLimit',
        'HeatPumpPower',
      ]),
    );
  });

  it('uses the documented namespace index for node ids', async () => {
    const ns = (await session.readNamespaceArray()).indexOf(SIM_NAMESPACE_URI);
    expect(ns).toBe(SIM_NAMESPACE_INDEX);
    expect(node('Heartbeat')).toBe(`ns=${SIM_NAMESPACE_INDEX};s=zev-bern/house/Heartbeat`);
  });

  it('reads values with engineering units', async () => {
    const t = await session.read({
      nodeId: node('Zones/house/Temperature'),
      attributeId: AttributeIds.Value,
    });
    expect(t.statusCode.isGood()).toBe(true);
    expect(t.value.value).toBeCloseTo(zone.indoorC, 6);
    const path = await session.translateBrowsePath({
      startingNode: node('Zones/house/Temperature'),
      relativePath: { elements: [{ targetName: { name: 'EngineeringUnits', namespaceIndex: 0 } }] },
    } as never);
    const eu = await session.read({ nodeId: path.targets![0]!.targetId, attributeId: AttributeIds.Value });
    expect(eu.value.value.displayName.text).toBe('°C');
    const f = await session.read({
      nodeId: server.nodes.get('zev-bern/Grid/Frequency')!,
      attributeId: AttributeIds.Value,
    });
    expect(f.value.value).toBeCloseTo(sim.frequencyHz(), 6);
  });

  it('notifies a subscriber when the physics moves', async () => {
    const sub = ClientSubscription.create(session, {
      requestedPublishingInterval: 100,
      requestedLifetimeCount: 100,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 100,
      publishingEnabled: true,
      priority: 1,
    });
    const item = ClientMonitoredItem.create(
      sub,
      { nodeId: node('GridImportEnergy'), attributeId: AttributeIds.Value },
      { samplingInterval: 100, discardOldest: true, queueSize: 10 },
      TimestampsToReturn.Both,
    );
    const seen: number[] = [];
    item.on('changed', (dv: DataValue) => seen.push(dv.value.value as number));
    const waitFor = async (ok: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    const initial = house.gridMeter.importWh;
    await waitFor(() => seen.includes(initial));
    sim.advanceBy(300);
    await waitFor(() => seen.includes(house.gridMeter.importWh));
    await sub.terminate();
    expect(seen[0]).toBe(initial);
    expect(seen.at(-1)).toBe(house.gridMeter.importWh);
    expect(house.gridMeter.importWh).toBeGreaterThan(initial);
  });

  it('writes setpoints that move the physics, and refuses out-of-range values', async () => {
    const ok = await session.write({
      nodeId: node('Zones/house/Setpoint'),
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Double, value: 18.5 } },
    });
    expect(ok.isGood()).toBe(true);
    expect(zone.ctl.setpointC).toBe(18.5);
    const bad = await session.write({
      nodeId: node('Zones/house/Setpoint'),
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Double, value: 99 } },
    });
    expect(bad).toEqual(StatusCodes.BadOutOfRange);
    const fan = await session.write({
      nodeId: node('Ventilation/ahu-1/SpeedSetpoint'),
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Double, value: 40 } },
    });
    expect(fan.isGood()).toBe(true);
    sim.advanceBy(1);
    expect(ahu.speedPct).toBe(40);
    expect(ahu.meter.powerW).toBeCloseTo(3700 * 0.4 ** 3, 6);
    const readOnly = await session.write({
      nodeId: node('GridPower'),
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Double, value: 1 } },
    });
    expect(readOnly).toEqual(StatusCodes.BadNotWritable);
  });
});

describe('OPC UA face, SignAndEncrypt with a user', () => {
  it('reads and writes over Basic256Sha256 as the BMS user', async () => {
    const { client, session } = await open(
      MessageSecurityMode.SignAndEncrypt,
      SecurityPolicy.Basic256Sha256,
      USER,
    );
    try {
      expect(session.endpoint.securityMode).toBe(MessageSecurityMode.SignAndEncrypt);
      expect(session.endpoint.securityPolicyUri).toBe(SecurityPolicy.Basic256Sha256);
      const w = await session.write({
        nodeId: node('EvChargers/ev-1/PowerSetpoint'),
        attributeId: AttributeIds.Value,
        value: { value: { dataType: DataType.Double, value: 3700 } },
      });
      expect(w.isGood()).toBe(true);
      expect(ev.setpointW).toBe(3700);
      const hb = await session.write({
        nodeId: node('Heartbeat'),
        attributeId: AttributeIds.Value,
        value: { value: { dataType: DataType.UInt32, value: 7 } },
      });
      expect(hb.isGood()).toBe(true);
      const r = await session.read({ nodeId: node('Heartbeat'), attributeId: AttributeIds.Value });
      expect(r.value.value).toBe(7);
    } finally {
      await session.close();
      await client.disconnect();
    }
  });

  it('refuses a wrong password', async () => {
    await expect(
      open(MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256, {
        userName: 'bms',
        password: 'nope',
      }),
    ).rejects.toThrow();
  });
});
