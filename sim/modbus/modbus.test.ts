import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatteryDevice, PvDevice } from '../physics/building.js';
import { Simulation } from '../physics/simulation.js';
import { loadScenario } from '../scenario.js';
import { freePort } from '../testing.js';
import { SDM630 } from './sdm630.js';
import { type ModbusServer, startModbusServer } from './server.js';
import { SUNSPEC_LAYOUT } from './sunspec.js';

const sim = new Simulation(await loadScenario('zev-bern'), {
  seed: 11,
  startMs: Date.parse('2026-06-21T11:00:00Z'),
});
sim.advanceBy(10);
const house = sim.buildings[0]!;
const pv = house.device('pv') as PvDevice;
const battery = house.device('battery') as BatteryDevice;
let server: ModbusServer;
// The package's default export is typed as a namespace; it is the client class at runtime.
const client = new (ModbusSerial as unknown as new () => ModbusRTU)();

const s16 = (r: number) => (r >= 0x8000 ? r - 0x10000 : r);
const float = (regs: number[]) => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(regs[0]!, 0);
  b.writeUInt16BE(regs[1]!, 2);
  return b.readFloatBE(0);
};
const ascii = (regs: number[]) =>
  Buffer.from(regs.flatMap((r) => [r >> 8, r & 0xff]))
    .toString('ascii')
    .replace(/\0+$/, '');
async function holding(unit: number, addr: number, len: number): Promise<number[]> {
  client.setID(unit);
  return (await client.readHoldingRegisters(addr, len)).data;
}
async function modbusError(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { modbusCode?: number }).modbusCode;
  }
  throw new Error('expected a Modbus exception');
}
/** Walk the SunSpec chain from 40002 by each block's length, as a discovering client does. */
async function modelChain(unit: number): Promise<{ id: number; at: number; length: number }[]> {
  const out: { id: number; at: number; length: number }[] = [];
  let at = 40002;
  for (;;) {
    const [id, length] = await holding(unit, at, 2);
    if (id === 0xffff) break;
    out.push({ id: id!, at, length: length! });
    at += 2 + length!;
  }
  return out;
}

beforeAll(async () => {
  server = await startModbusServer(sim, { host: '127.0.0.1', port: await freePort() });
  await client.connectTCP('127.0.0.1', { port: server.port });
  client.setTimeout(2000);
});
afterAll(async () => {
  await new Promise<void>((r) => client.close(() => r()));
  await server.close();
});

describe('Modbus TCP face', () => {
  it('assigns the scenario unit ids', () => {
    const byDevice = Object.fromEntries(server.units.map((u) => [u.device, [u.unitId, u.profile]]));
    expect(byDevice['grid-meter']).toEqual([1, 'sdm630']);
    expect(byDevice['apt-1']).toEqual([2, 'sdm630']);
    expect(byDevice['apt-12']).toEqual([13, 'sdm630']);
    expect(byDevice.pv).toEqual([20, 'sunspec-inverter']);
    expect(byDevice.battery).toEqual([21, 'sunspec-storage']);
    expect(byDevice['heat-pump']).toEqual([22, 'sunspec-meter']);
    expect(byDevice['ev-1']).toEqual([14, 'sdm630']);
    expect(byDevice['ev-2']).toEqual([15, 'sdm630']);
  });

  it('answers SunSpec discovery: SunS at 40000, then the model chain to the end marker', async () => {
    expect(ascii(await holding(20, 40000, 2))).toBe('SunS');
    expect(await modelChain(20)).toEqual([
      { id: 1, at: 40002, length: 66 },
      { id: 103, at: 40070, length: 50 },
      { id: 123, at: 40122, length: 24 },
    ]);
    expect((await modelChain(21)).map((m) => m.id)).toEqual([1, 103, 124]);
    expect(await modelChain(22)).toEqual([
      { id: 1, at: 40002, length: 66 },
      { id: 203, at: 40070, length: 105 },
    ]);
    expect(ascii(await holding(20, 40004, 16))).toBe('Gridflex');
    expect(ascii(await holding(20, 40052, 16))).toBe('house/pv');
  });

  it('reads PV power with its scale factor and curtails it through model 123', async () => {
    const inv = SUNSPEC_LAYOUT.second;
    const [w, wSf] = await holding(20, inv + 14, 2);
    const before = s16(w!) * 10 ** s16(wSf!);
    expect(before).toBeGreaterThan(3000);
    expect(Math.abs(before + pv.meter.powerW)).toBeLessThanOrEqual(10 ** s16(wSf!));
    client.setID(20);
    await client.writeRegister(SUNSPEC_LAYOUT.third + 5, 100); // WMaxLimPct 10.0 %
    await client.writeRegister(SUNSPEC_LAYOUT.third + 9, 1); // WMaxLim_Ena
    sim.advanceBy(2);
    const [w2, sf2] = await holding(20, inv + 14, 2);
    expect(s16(w2!) * 10 ** s16(sf2!)).toBeLessThanOrEqual(2700);
    const ctl = await holding(20, SUNSPEC_LAYOUT.third, 26);
    expect([ctl[5], ctl[9], s16(ctl[23]!)]).toEqual([100, 1, -1]);
    const [st] = await holding(20, inv + 38, 1);
    expect(st).toBe(5); // THROTTLED
  });

  it('charges the battery from a model 124 setpoint, seen on the battery and the grid meter', async () => {
    client.setID(1);
    const gridBefore = float((await client.readInputRegisters(SDM630.totalPower, 2)).data);
    expect(gridBefore).toBeCloseTo(house.gridMeter.powerW, 0);
    client.setID(21);
    await client.writeRegisters(SUNSPEC_LAYOUT.third + 12, [0, 5000]); // OutWRte 0 %, InWRte 50.00 %
    await client.writeRegister(SUNSPEC_LAYOUT.third + 5, 1); // StorCtl_Mod: charge
    sim.advanceBy(1);
    expect(battery.meter.powerW).toBe(5000);
    const [w, wSf] = await holding(21, SUNSPEC_LAYOUT.second + 14, 2);
    expect(s16(w!) * 10 ** s16(wSf!)).toBe(-5000);
    const storage = await holding(21, SUNSPEC_LAYOUT.third, 26);
    expect(storage[11]).toBe(4); // ChaSt CHARGING
    expect(storage[8]! / 10).toBeCloseTo((battery.storedWh / 20_000) * 100, 0);
    client.setID(1);
    const gridAfter = float((await client.readInputRegisters(SDM630.totalPower, 2)).data);
    expect(gridAfter).toBeCloseTo(house.gridMeter.powerW, 0);
  });

  it('serves the SDM630 float32 input registers with kWh counters', async () => {
    sim.advanceBy(60);
    client.setID(1);
    const regs = (await client.readInputRegisters(0, 0x50)).data;
    expect(float(regs.slice(0, 2))).toBe(230);
    expect(float(regs.slice(0x46, 0x48))).toBeCloseTo(sim.frequencyHz(), 3);
    // float32 keeps about 7 significant digits: 0.01 kWh at a 25 MWh reading.
    expect(float(regs.slice(0x48, 0x4a))).toBeCloseTo(house.gridMeter.importWh / 1000, 1);
    expect(float(regs.slice(0x4a, 0x4c))).toBeCloseTo(house.gridMeter.exportWh / 1000, 1);
    const phases = [0x0c, 0x0e, 0x10].map((a) => float(regs.slice(a, a + 2)));
    expect(phases.reduce((a, b) => a + b, 0)).toBeCloseTo(float(regs.slice(0x34, 0x36)), 0);
  });

  it('answers bad requests with the right Modbus exceptions', async () => {
    client.setID(20);
    expect(await modbusError(client.readHoldingRegisters(40140, 20))).toBe(2); // past the end marker
    expect(await modbusError(client.readHoldingRegisters(100, 2))).toBe(2);
    expect(await modbusError(client.readInputRegisters(0, 2))).toBe(2); // SunSpec is holding registers
    expect(await modbusError(client.writeRegister(SUNSPEC_LAYOUT.third + 5, 2000))).toBe(3); // 200 %
    expect(await modbusError(client.writeRegister(SUNSPEC_LAYOUT.second + 14, 1))).toBe(2); // W is read-only
    client.setID(21);
    expect(await modbusError(client.writeRegister(SUNSPEC_LAYOUT.third + 13, 0x10000 - 20000))).toBe(3); // −200 %
    client.setID(1);
    expect(await modbusError(client.readInputRegisters(0x017f, 2))).toBe(2);
    expect(await modbusError(client.readHoldingRegisters(0, 2))).toBe(2);
    client.setID(99);
    expect(await modbusError(client.readHoldingRegisters(40000, 2))).toBe(11);
  });

  it('reverts to defaults when the controller stops refreshing (fail-safe)', async () => {
    sim.advanceBy(70);
    expect(pv.limitEnabled).toBe(false);
    expect(battery.meter.powerW).toBe(0);
    const storage = await holding(21, SUNSPEC_LAYOUT.third, 26);
    expect([storage[5], storage[13]]).toEqual([0, 0]);
    const ctl = await holding(20, SUNSPEC_LAYOUT.third, 26);
    expect([ctl[5], ctl[7], ctl[9]]).toEqual([1000, 60, 0]);
  });
});
