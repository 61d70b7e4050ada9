import { loadConfigFile } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import { parseOrThrow, type Site, SitesConfigSchema } from '../model/index.js';

/**
 * Site configurations tests build on, as raw input (what a sites.yaml holds) so a test can
 * still spread over any field; `testSites` parses them as `gridflex run` would.
 */
type Input = Record<string, unknown>;

/** Parse sites as a sites file (`{ sites }`, named "test sites" in errors). */
export function testSites(...sites: Input[]): Site[] {
  return parseOrThrow(SitesConfigSchema, { sites }, 'test sites').sites;
}

/** ZEV Bern: an apartment block in Europe/Zurich, 60 kW import and 30 kW export at the grid; `over` replaces fields. */
export function bernSite(over: Input = {}): Input {
  return {
    id: 'bern',
    name: 'ZEV Bern',
    location: { lat: 46.95, lon: 7.45 },
    timezone: 'Europe/Zurich',
    grid: { importLimitKw: 60, exportLimitKw: 30 },
    ...over,
  };
}

/** The building `house` ("House") holding these devices and, when given, assets. */
export function house(devices: Input[], assets?: Input[]): Input {
  return { id: 'house', name: 'House', devices, ...(assets ? { assets } : {}) };
}

/** Sites `bern` and `basel` named by their ids, 60/30 kW at the grid, each with these buildings. */
export function bernAndBasel(buildings: Input[] = []): Input[] {
  return ['bern', 'basel'].map((id) => ({
    id,
    name: id,
    location: { lat: 47, lon: 7.5 },
    timezone: 'Europe/Zurich',
    grid: { importLimitKw: 60, exportLimitKw: 30 },
    buildings,
  }));
}

/**
 * An Eastron SDM630 meter on Modbus TCP at 127.0.0.1:5020 with one active power point
 * `power`; the port, unit id, names, profile and point kind when a test needs them.
 */
export function modbusMeter(
  id: string,
  over: {
    port?: number;
    unitId?: number;
    name?: string;
    pointName?: string;
    profile?: string;
    kind?: string;
  } = {},
): Input {
  return {
    id,
    ...(over.name ? { name: over.name } : {}),
    protocol: 'modbus',
    profile: over.profile ?? 'sdm630',
    connection: {
      transport: 'tcp',
      host: '127.0.0.1',
      port: over.port ?? 5020,
      ...(over.unitId === undefined ? {} : { unitId: over.unitId }),
    },
    points: [
      { id: 'power', ...(over.pointName ? { name: over.pointName } : {}), kind: over.kind ?? 'active_power' },
    ],
  };
}

/** A 20 kWh battery that charges and discharges at 10 kW; `over` adds measure/control points. */
export function battery20(over: Input = {}): Input {
  return { id: 'battery', type: 'battery', capacityKwh: 20, maxChargeKw: 10, maxDischargeKw: 10, ...over };
}

/** 30 kWp of PV behind a 27 kW inverter. */
export const PV_30KWP: Input = { id: 'pv', type: 'pv', kwp: 30, inverterKw: 27 };

/** The example deployment's sites (`deploy/examples/sites.yaml`, what `gridflex demo` runs). */
export async function exampleSites(): Promise<Site[]> {
  return (await loadConfigFile(SitesConfigSchema, `${packageRoot()}/deploy/examples/sites.yaml`)).sites;
}
