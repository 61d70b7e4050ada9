import { ServerTCP } from 'modbus-serial';
import { assignUnits, type ModbusUnit } from '../endpoints.js';
import type { Building, SimDevice } from '../physics/building.js';
import type { Simulation } from '../physics/simulation.js';
import { sdm630Block } from './sdm630.js';
import { inverterBlock, meterBlock, type SunSpecContext, storageBlock } from './sunspec.js';
import { ILLEGAL_VALUE, ModbusException, readBlock, TARGET_FAILED, type UnitFace } from './unit.js';

function ratedW(b: Building, d: SimDevice | null): number {
  if (!d) return b.devices.reduce((s, x) => s + ratedW(b, x), 0);
  switch (d.type) {
    case 'load':
      return d.peakW * 1.3;
    case 'sheddable':
      return d.spec.ratedKw * 1000;
    case 'pv':
      return d.inverterKw * 1000;
    case 'battery':
      return Math.max(d.params.maxChargeW, d.params.maxDischargeW);
    case 'heat_pump':
      return d.params.maxW;
    case 'ev_charger':
      return d.maxW;
  }
}

/** The register faces of every Modbus unit of a simulation, by unit id. */
export function buildFaces(sim: Simulation, units: ModbusUnit[]): Map<number, UnitFace> {
  const faces = new Map<number, UnitFace>();
  for (const u of units) {
    const b = sim.building(u.building)!;
    const device = u.device === 'grid-meter' ? null : b.device(u.device)!;
    const meter = device ? device.meter : b.gridMeter;
    const ctx: SunSpecContext = {
      sim,
      building: b.id,
      device,
      meter,
      unitId: u.unitId,
      ratedW: ratedW(b, device),
      model: device ? `SIM-${device.type.toUpperCase()}` : 'SIM-GRID-METER',
    };
    let face: UnitFace;
    if (u.profile === 'sdm630') face = { input: sdm630Block(meter, () => sim.frequencyHz()) };
    else if (u.profile === 'sunspec-inverter' && device?.type === 'pv')
      face = { holding: inverterBlock({ ...ctx, device }) };
    else if (u.profile === 'sunspec-storage' && device?.type === 'battery')
      face = { holding: storageBlock({ ...ctx, device }) };
    else face = { holding: meterBlock(ctx) };
    faces.set(u.unitId, face);
  }
  return faces;
}

export interface ModbusServer {
  host: string;
  port: number;
  units: ModbusUnit[];
  close(): Promise<void>;
}

/**
 * One Modbus TCP server answering every unit of the scenario on a shared port (unit id selects
 * the device). modbus-serial treats port 0 as 502, so callers pass an explicit port.
 */
export async function startModbusServer(
  sim: Simulation,
  opts: { host: string; port: number },
): Promise<ModbusServer> {
  if (opts.port === 0) throw new Error('modbus-serial cannot listen on port 0: pass an explicit free port');
  const units = assignUnits(sim.scenario);
  const faces = buildFaces(sim, units);
  const face = (unitId: number) => {
    const f = faces.get(unitId);
    if (!f) throw new ModbusException(TARGET_FAILED, `no device with unit id ${unitId}`);
    return f;
  };
  const maxRead = (length: number) => {
    if (length < 1 || length > 125) throw new ModbusException(ILLEGAL_VALUE, 'read 1…125 registers');
  };
  const vector = {
    getHoldingRegister: (addr: number, unitID: number) => readBlock(face(unitID).holding, addr, 1)[0]!,
    getMultipleHoldingRegisters: (addr: number, length: number, unitID: number) => {
      maxRead(length);
      return readBlock(face(unitID).holding, addr, length);
    },
    getInputRegister: (addr: number, unitID: number) => readBlock(face(unitID).input, addr, 1)[0]!,
    getMultipleInputRegisters: (addr: number, length: number, unitID: number) => {
      maxRead(length);
      return readBlock(face(unitID).input, addr, length);
    },
    setRegister: (addr: number, value: number, unitID: number) => writeRegs(addr, [value], unitID),
    setRegisterArray: (addr: number, values: number[], unitID: number) => writeRegs(addr, values, unitID),
    getCoil: (_addr: number, unitID: number) => {
      face(unitID);
      throw new ModbusException(2, 'no coils');
    },
    getDiscreteInput: (_addr: number, unitID: number) => {
      face(unitID);
      throw new ModbusException(2, 'no discrete inputs');
    },
    setCoil: (_addr: number, _v: boolean, unitID: number) => {
      face(unitID);
      throw new ModbusException(2, 'no coils');
    },
  };
  function writeRegs(addr: number, values: number[], unitID: number): void {
    const block = face(unitID).holding;
    readBlock(block, addr, values.length); // exception 2 outside the map
    if (!block?.write) throw new ModbusException(2, 'read-only device');
    block.write(addr, values);
  }
  const server = new ServerTCP(vector, { host: opts.host, port: opts.port, unitID: 255 });
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', (err) => reject(err));
  });
  server.on('error', () => {});
  return {
    host: opts.host,
    port: opts.port,
    units,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
