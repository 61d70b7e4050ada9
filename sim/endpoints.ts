import type { Scenario, SimDeviceSpec } from './scenario.js';
import { expandIds } from './scenario.js';

/** Register map a Modbus unit answers with (documented in sim/README.md). */
export type ModbusProfile = 'sdm630' | 'sunspec-inverter' | 'sunspec-storage' | 'sunspec-meter';

export interface ModbusUnit {
  building: string;
  /** Device id, or `grid-meter` for the building's main meter. */
  device: string;
  unitId: number;
  profile: ModbusProfile;
}

function profileOf(d: SimDeviceSpec): ModbusProfile | null {
  if (d.modbus === 'none') return null;
  if (d.type === 'pv') return 'sunspec-inverter';
  if (d.type === 'battery') return 'sunspec-storage';
  return d.modbus === 'sdm630' ? 'sdm630' : 'sunspec-meter';
}

/**
 * Unit ids on the shared Modbus port: fixed ones from the scenario, the rest numbered in
 * scenario order from 1, skipping those taken.
 */
export function assignUnits(s: Scenario): ModbusUnit[] {
  const wanted: { building: string; device: string; profile: ModbusProfile; unitId?: number }[] = [];
  for (const b of s.buildings) {
    const g = b.gridMeter;
    if (g.modbus !== 'none')
      wanted.push({
        building: b.id,
        device: 'grid-meter',
        profile: g.modbus === 'sdm630' ? 'sdm630' : 'sunspec-meter',
        unitId: g.unitId,
      });
    for (const d of b.devices) {
      const profile = profileOf(d);
      if (!profile) continue;
      for (const id of expandIds(d)) wanted.push({ building: b.id, device: id, profile, unitId: d.unitId });
    }
  }
  const taken = new Set(wanted.flatMap((w) => (w.unitId === undefined ? [] : [w.unitId])));
  let next = 1;
  return wanted.map((w) => {
    if (w.unitId !== undefined) return { ...w, unitId: w.unitId };
    while (taken.has(next)) next++;
    if (next > 247) throw new Error(`scenario ${s.id} has more than 247 Modbus devices on one port`);
    taken.add(next);
    return { ...w, unitId: next };
  });
}

export interface Endpoint {
  building: string;
  device: string;
  protocol: 'modbus' | 'opcua';
  host: string;
  port: number;
  unitId?: number;
  profile?: ModbusProfile;
  endpointUrl?: string;
}

/** Every endpoint a simulator of this scenario serves: Modbus on portBase, OPC UA on portBase + 1. */
export function plannedEndpoints(s: Scenario, host: string, portBase: number): Endpoint[] {
  const endpointUrl = `opc.tcp://${host}:${portBase + 1}/gridflex-sim`;
  return [
    ...assignUnits(s).map(
      (u): Endpoint => ({
        building: u.building,
        device: u.device,
        protocol: 'modbus',
        host,
        port: portBase,
        unitId: u.unitId,
        profile: u.profile,
      }),
    ),
    ...s.buildings.map(
      (b): Endpoint => ({
        building: b.id,
        device: 'bms',
        protocol: 'opcua',
        host,
        port: portBase + 1,
        endpointUrl,
      }),
    ),
  ];
}
