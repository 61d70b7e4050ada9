import type { Endpoint } from './endpoints.js';
import type { Building } from './physics/building.js';
import type { Simulation } from './physics/simulation.js';

/** Index of the simulator's OPC UA namespace (`urn:gridflex:sim`): ns 1 is the server's own. */
export const SIM_NAMESPACE_INDEX = 2;

type Point = Record<string, unknown>;

/** The SunSpec 124 controls of the simulated battery: its gateway file's allow-listed setpoints. */
export const STORAGE_CONTROLS: readonly Point[] = [
  {
    id: 'mode',
    kind: 'setpoint',
    unit: '',
    register: '124.StorCtl_Mod',
    writable: true,
    min: 0,
    max: 3,
  },
  {
    id: 'charge_rate',
    kind: 'setpoint',
    unit: '%',
    register: '124.InWRte',
    writable: true,
    min: 0,
    max: 100,
  },
  {
    id: 'discharge_rate',
    kind: 'setpoint',
    unit: '%',
    register: '124.OutWRte',
    writable: true,
    min: 0,
    max: 100,
  },
  // The command lease (model/asset.ts `lease`): never 0, which would switch the fail-safe off.
  {
    id: 'revert_timeout',
    kind: 'setpoint',
    unit: 's',
    register: '124.InOutWRte_RvrtTms',
    writable: true,
    min: 45,
    max: 3600,
  },
];

/**
 * The SunSpec 123 controls of a simulated PV inverter (curtailment): the limit in % of WMax,
 * its enable switch and the fail-safe that drops the limit after so long without a write.
 */
export const PV_CONTROLS: readonly Point[] = [
  {
    id: 'limit_pct',
    kind: 'setpoint',
    unit: '%',
    register: '123.WMaxLimPct',
    writable: true,
    min: 0,
    max: 100,
  },
  {
    id: 'limit_enable',
    kind: 'setpoint',
    unit: '',
    register: '123.WMaxLim_Ena',
    writable: true,
    min: 0,
    max: 1,
  },
  // As the battery's: never 0, which would switch the fail-safe off.
  {
    id: 'revert_timeout',
    kind: 'setpoint',
    unit: 's',
    register: '123.WMaxLimPct_RvrtTms',
    writable: true,
    min: 45,
    max: 3600,
  },
];

function modbusPoints(e: Endpoint): Point[] {
  switch (e.profile) {
    case 'sdm630':
      return [
        { id: 'power', kind: 'active_power' },
        { id: 'energy_import', kind: 'energy_import' },
        { id: 'energy_export', kind: 'energy_export' },
        ...(e.device === 'grid-meter' ? [{ id: 'frequency', kind: 'frequency' }] : []),
      ];
    case 'sunspec-meter':
      return [
        { id: 'power', kind: 'active_power', register: '203.W' },
        // Consumers only: the export accumulator stays 0, which SunSpec reads as not implemented.
        { id: 'energy_import', kind: 'energy_import', register: '203.TotWhImp' },
      ];
    case 'sunspec-inverter':
      return [
        { id: 'power', kind: 'active_power', register: '103.W' },
        { id: 'energy_export', kind: 'energy_export', register: '103.WH' },
        ...PV_CONTROLS.map((p) => ({ ...p })),
      ];
    case 'sunspec-storage':
      return [
        { id: 'power', kind: 'active_power', register: '103.W' },
        { id: 'soc', kind: 'state_of_charge', register: '124.ChaState' },
        ...STORAGE_CONTROLS.map((p) => ({ ...p })),
      ];
    default:
      return [];
  }
}

function bmsPoints(site: string, b: Building): Point[] {
  const node = (path: string) => `ns=${SIM_NAMESPACE_INDEX};s=${site}/${b.id}/${path}`;
  const points: Point[] = [
    { id: 'grid_power', kind: 'active_power', nodeId: node('GridPower') },
    { id: 'grid_import', kind: 'energy_import', nodeId: node('GridImportEnergy') },
  ];
  for (const d of b.devices) {
    if (d.type === 'heat_pump') {
      const z = `Zones/${d.zone}`;
      points.push(
        { id: `${d.zone}-temperature`, kind: 'temperature', nodeId: node(`${z}/Temperature`) },
        {
          id: `${d.zone}-setpoint`,
          kind: 'setpoint',
          unit: 'degC',
          nodeId: node(`${z}/Setpoint`),
          writable: true,
          min: 5,
          max: 30,
        },
        { id: `${d.zone}-heat-pump-power`, kind: 'active_power', nodeId: node(`${z}/HeatPumpPower`) },
      );
    } else if (d.type === 'sheddable') {
      const v = `Ventilation/${d.id}`;
      points.push(
        {
          id: `${d.id}-speed`,
          kind: 'setpoint',
          unit: '%',
          nodeId: node(`${v}/SpeedSetpoint`),
          writable: true,
          min: d.spec.minPct,
          max: d.spec.maxPct,
          // A fan in frequency response is written every few seconds; the drive allows it.
          minWriteInterval: '1s',
        },
        { id: `${d.id}-power`, kind: 'active_power', nodeId: node(`${v}/Power`) },
      );
    } else if (d.type === 'ev_charger') {
      const v = `EvChargers/${d.id}`;
      points.push(
        {
          id: `${d.id}-setpoint`,
          kind: 'setpoint',
          unit: 'W',
          nodeId: node(`${v}/PowerSetpoint`),
          writable: true,
          min: 0,
          max: d.maxW,
        },
        { id: `${d.id}-power`, kind: 'active_power', nodeId: node(`${v}/Power`) },
      );
    }
  }
  return points;
}

/**
 * A gateway file (gateway/config.ts shape, as plain data) for every endpoint of a running or
 * planned simulator. Device ids are `<building>-<device>`; the BMS is `<building>-bms`.
 */
export function gatewayConfigFor(sim: Simulation, endpoints: Endpoint[]): Record<string, unknown> {
  const site = sim.scenario.id;
  const devices = endpoints.map((e) => {
    if (e.protocol === 'modbus')
      return {
        id: `${e.building}-${e.device}`,
        protocol: 'modbus',
        profile: e.profile === 'sdm630' ? 'sdm630' : 'sunspec',
        connection: { transport: 'tcp', host: e.host, port: e.port, unitId: e.unitId },
        points: modbusPoints(e),
      };
    return {
      id: `${e.building}-bms`,
      protocol: 'opcua',
      connection: { endpointUrl: e.endpointUrl, securityMode: 'None', securityPolicy: 'None' },
      points: bmsPoints(site, sim.building(e.building)!),
    };
  });
  return { site, pollInterval: '5s', devices };
}
