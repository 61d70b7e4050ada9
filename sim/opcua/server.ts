import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DataType,
  type EUInformation,
  MessageSecurityMode,
  makeEUInformation,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  setWarningLogger,
  standardUnits,
  type UAObject,
  Variant,
} from 'node-opcua';
import type { Building, EvChargerDevice, HeatPumpDevice, SheddableDevice } from '../physics/building.js';
import { controls, IllegalValueError } from '../physics/controls.js';
import type { Simulation } from '../physics/simulation.js';

export const SIM_NAMESPACE_URI = 'urn:gridflex:sim';
export const OPCUA_RESOURCE_PATH = '/gridflex-sim';

export interface OpcUaServerOptions {
  host: string;
  port: number;
  /** Folder for the server's PKI (own certificate, trusted and rejected client certificates). */
  pkiDir: string;
  username: string;
  password: string;
}

export interface SimOpcUaServer {
  endpointUrl: string;
  /** Node ids of every variable, by browse path (`<building>/Zones/<zone>/Temperature`). */
  nodes: Map<string, string>;
  close(): Promise<void>;
}

const WH = makeEUInformation('WHR', 'Wh', 'watt hour');
const EUR_MWH = makeEUInformation('EUR/MWh', '€/MWh', 'euro per megawatt hour');

type Setter = (value: number | boolean) => void;

/**
 * The building management system face: one OPC UA server for the scenario with a folder per
 * building and per zone, variables with engineering units, and writable setpoints that move the
 * physics. Endpoints: security None and SignAndEncrypt (Basic256Sha256, Aes128_Sha256_RsaOaep);
 * anonymous or the scenario's username/password user.
 */
export async function startOpcUaServer(sim: Simulation, opts: OpcUaServerOptions): Promise<SimOpcUaServer> {
  // node-opcua's warnings (a Node PKCS#1 notice for a policy the simulator does not offer,
  // certificate creation) are noise beside the simulator's own lines; LOG_LEVEL=debug shows them.
  if (process.env.LOG_LEVEL !== 'debug' && process.env.LOG_LEVEL !== 'trace')
    setWarningLogger(() => undefined);
  await mkdir(opts.pkiDir, { recursive: true });
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(opts.pkiDir, 'server'),
    // A simulator trusts any client: real deployments must not (see gateway/ for the client side).
    automaticallyAcceptUnknownCertificate: true,
  });
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: join(opts.pkiDir, 'user'),
    automaticallyAcceptUnknownCertificate: false,
  });
  const server = new OPCUAServer({
    host: opts.host,
    port: opts.port,
    // Advertise the address clients dial, not the machine's host name.
    alternateHostname: [opts.host],
    resourcePath: OPCUA_RESOURCE_PATH,
    buildInfo: { productName: 'Gridflex simulator', manufacturerName: 'Gridflex', softwareVersion: '0.1.0' },
    serverCertificateManager,
    userCertificateManager,
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [
      SecurityPolicy.None,
      SecurityPolicy.Basic256Sha256,
      SecurityPolicy.Aes128_Sha256_RsaOaep,
    ],
    allowAnonymous: true,
    userManager: {
      isValidUser: (user: string, password: string) => user === opts.username && password === opts.password,
    },
    // One connection and session per building's BMS (17 in lappeenranta), as if each building
    // had its own server; node-opcua's defaults (10 connections per endpoint, 10 sessions)
    // would leave the eleventh building's BMS unreachable.
    maxConnectionsPerEndpoint: 100,
    serverCapabilities: { maxSessions: 100 },
    serverInfo: { applicationUri: 'urn:gridflex:sim:server', productUri: 'gridflex-sim' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.registerNamespace(SIM_NAMESPACE_URI);
  const nodes = new Map<string, string>();
  const nsIndex = ns.index;

  const folder = (parent: UAObject, name: string, path: string) =>
    ns.addFolder(parent, { browseName: name, nodeId: `s=${path}` });

  const analog = (
    parent: UAObject,
    path: string,
    name: string,
    unit: EUInformation,
    range: [number, number],
    get: () => number,
    set?: Setter,
  ) => {
    const full = `${path}/${name}`;
    ns.addAnalogDataItem({
      componentOf: parent,
      browseName: name,
      nodeId: `s=${full}`,
      dataType: 'Double',
      engineeringUnits: unit,
      engineeringUnitsRange: { low: range[0], high: range[1] },
      minimumSamplingInterval: 100,
      accessLevel: set ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: set ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      value: binding(DataType.Double, get, set),
    });
    nodes.set(full, `ns=${nsIndex};s=${full}`);
  };

  const plain = (
    parent: UAObject,
    path: string,
    name: string,
    dataType: DataType.Boolean | DataType.UInt32 | DataType.String | DataType.DateTime,
    get: () => unknown,
    set?: Setter,
  ) => {
    const full = `${path}/${name}`;
    ns.addVariable({
      componentOf: parent,
      browseName: name,
      nodeId: `s=${full}`,
      dataType: DataType[dataType],
      minimumSamplingInterval: 100,
      accessLevel: set ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: set ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      value: binding(dataType, get, set),
    });
    nodes.set(full, `ns=${nsIndex};s=${full}`);
  };

  const root = folder(addressSpace.rootFolder.objects, sim.scenario.id, sim.scenario.id);
  const site = sim.scenario.id;
  const grid = folder(root, 'Grid', `${site}/Grid`);
  const g = `${site}/Grid`;
  analog(grid, g, 'Frequency', standardUnits.hertz, [45, 55], () => sim.frequencyHz());
  analog(grid, g, 'DayAheadPrice', EUR_MWH, [-500, 4000], () => sim.priceEurMwh());
  analog(
    grid,
    g,
    'OutdoorTemperature',
    standardUnits.degree_celsius,
    [-50, 50],
    () => sim.environment().outdoorC,
  );
  plain(grid, g, 'ActivationRequests', DataType.String, () =>
    JSON.stringify(sim.activations(sim.tMs - 900_000, sim.tMs + 3_600_000)),
  );
  plain(grid, g, 'SimulatedTime', DataType.DateTime, () => new Date(sim.tMs));

  for (const b of sim.buildings) addBuilding(b);

  function addBuilding(b: Building) {
    const p = `${site}/${b.id}`;
    const bf = folder(root, b.id, p);
    const now = () => sim.tMs;
    plain(
      bf,
      p,
      'Heartbeat',
      DataType.UInt32,
      () => b.heartbeat,
      (v) => b.beat(Number(v), now()),
    );
    analog(bf, p, 'GridPower', standardUnits.watt, [-1e7, 1e7], () => b.gridMeter.powerW);
    analog(bf, p, 'GridImportEnergy', WH, [0, 1e12], () => b.gridMeter.importWh);
    analog(bf, p, 'GridExportEnergy', WH, [0, 1e12], () => b.gridMeter.exportWh);
    const zones = b.devices.filter((d): d is HeatPumpDevice => d.type === 'heat_pump');
    if (zones.length > 0) {
      const zf = folder(bf, 'Zones', `${p}/Zones`);
      for (const z of zones) {
        const zp = `${p}/Zones/${z.zone}`;
        const f = folder(zf, z.zone, zp);
        analog(f, zp, 'Temperature', standardUnits.degree_celsius, [-30, 50], () => z.indoorC);
        analog(
          f,
          zp,
          'Setpoint',
          standardUnits.degree_celsius,
          [5, 30],
          () => z.ctl.setpointC,
          (v) => controls.zone(z, { setpointC: Number(v) }, now()),
        );
        plain(
          f,
          zp,
          'HeatPumpEnabled',
          DataType.Boolean,
          () => z.ctl.enabled,
          (v) => controls.zone(z, { enabled: Boolean(v) }, now()),
        );
        analog(
          f,
          zp,
          'HeatPumpLimit',
          standardUnits.percent,
          [0, 100],
          () => z.ctl.limitPct,
          (v) => controls.zone(z, { limitPct: Number(v) }, now()),
        );
        analog(f, zp, 'HeatPumpPower', standardUnits.watt, [0, z.params.maxW], () => z.meter.powerW);
      }
    }
    const fans = b.devices.filter((d): d is SheddableDevice => d.type === 'sheddable');
    if (fans.length > 0) {
      const vf = folder(bf, 'Ventilation', `${p}/Ventilation`);
      for (const d of fans) {
        const dp = `${p}/Ventilation/${d.id}`;
        const f = folder(vf, d.id, dp);
        analog(f, dp, 'Speed', standardUnits.percent, [0, 100], () => d.speedPct);
        analog(
          f,
          dp,
          'SpeedSetpoint',
          standardUnits.percent,
          [0, 100],
          () => d.setpointPct ?? d.speedPct,
          (v) => controls.fanSpeed(d, Number(v), now()),
        );
        plain(f, dp, 'Remote', DataType.Boolean, () => d.setpointPct !== null);
        analog(f, dp, 'Power', standardUnits.watt, [0, d.spec.ratedKw * 1000], () => d.meter.powerW);
      }
    }
    const evs = b.devices.filter((d): d is EvChargerDevice => d.type === 'ev_charger');
    if (evs.length > 0) {
      const ef = folder(bf, 'EvChargers', `${p}/EvChargers`);
      for (const d of evs) {
        const dp = `${p}/EvChargers/${d.id}`;
        const f = folder(ef, d.id, dp);
        analog(
          f,
          dp,
          'PowerSetpoint',
          standardUnits.watt,
          [0, d.maxW],
          () => d.setpointW ?? d.maxW,
          (v) => controls.evPower(d, Number(v), now()),
        );
        analog(f, dp, 'Power', standardUnits.watt, [0, d.maxW], () => d.meter.powerW);
        plain(f, dp, 'Connected', DataType.Boolean, () => d.connected);
        analog(f, dp, 'EnergyDelivered', WH, [0, 1e6], () => d.deliveredWh);
      }
    }
  }

  await server.start();
  return {
    endpointUrl: `opc.tcp://${opts.host}:${server.endpoints[0]!.port}${OPCUA_RESOURCE_PATH}`,
    nodes,
    close: () => server.shutdown(0),
  };
}

function binding(dataType: DataType, get: () => unknown, set?: Setter) {
  return {
    get: () => new Variant({ dataType, value: get() }),
    ...(set && {
      set: (variant: Variant) => {
        const v = variant.value as unknown;
        if (typeof v !== 'number' && typeof v !== 'boolean') return StatusCodes.BadTypeMismatch;
        try {
          set(v);
          return StatusCodes.Good;
        } catch (err) {
          if (err instanceof IllegalValueError) return StatusCodes.BadOutOfRange;
          throw err;
        }
      },
    }),
  };
}
