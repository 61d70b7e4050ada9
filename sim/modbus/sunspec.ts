import type { BatteryDevice, PvDevice, SimDevice } from '../physics/building.js';
import { controls, IllegalValueError } from '../physics/controls.js';
import type { MeterState } from '../physics/meter.js';
import type { Simulation } from '../physics/simulation.js';
import { acc32, int16, NOT_IMPLEMENTED, scaleFor, str, sunssf, toInt16, uint16 } from './registers.js';
import { ILLEGAL_ADDRESS, ILLEGAL_VALUE, ModbusException, type RegisterBlock } from './unit.js';

export const SUNSPEC_BASE = 40000;
/** Absolute addresses of the model blocks (their ID register). */
export const SUNSPEC_LAYOUT = {
  common: 40002,
  /** 103 inverter (PV and battery inverters) or 203 meter. */
  second: 40070,
  /** 123 immediate controls (PV) or 124 storage (battery), after the 103 block. */
  third: 40122,
  inverterEnd: 40148,
  meterEnd: 40177,
} as const;

const NI16 = NOT_IMPLEMENTED.int16;
const NU16 = NOT_IMPLEMENTED.uint16;
const NSF = NOT_IMPLEMENTED.sunssf;
const VOLTS = 230;

export interface SunSpecContext {
  sim: Simulation;
  building: string;
  device: SimDevice | null;
  meter: MeterState;
  unitId: number;
  /** Largest power the device can reach, W (chooses the scale factors). */
  ratedW: number;
  model: string;
}

function commonModel(ctx: SunSpecContext): number[] {
  return [
    1,
    66,
    ...str('Gridflex', 16),
    ...str(ctx.model, 16),
    ...str('simulated', 8),
    ...str('0.1.0', 8),
    ...str(`${ctx.building}/${ctx.device?.id ?? 'grid-meter'}`, 16),
    ctx.unitId,
    NI16,
  ];
}

/** Model 103, three-phase inverter. `acW` positive = power delivered to the AC side. */
function inverterModel(ctx: SunSpecContext, acW: number, whOut: number, state: number): number[] {
  const wSf = scaleFor(ctx.ratedW * 1.2, 0);
  const amps = Math.abs(acW) / (3 * VOLTS);
  const aSf = scaleFor((ctx.ratedW / (3 * VOLTS)) * 3.6, -2);
  const hz = ctx.sim.frequencyHz();
  const dcW = Math.abs(acW) / 0.97;
  const m = [
    103,
    50,
    uint16((amps * 3) / 10 ** aSf),
    uint16(amps / 10 ** aSf),
    uint16(amps / 10 ** aSf),
    uint16(amps / 10 ** aSf),
    sunssf(aSf),
    4000,
    4000,
    4000,
    2300,
    2300,
    2300,
    sunssf(-1),
    int16(acW / 10 ** wSf),
    sunssf(wSf),
    uint16(hz * 100),
    sunssf(-2),
    int16(Math.abs(acW) / 10 ** wSf),
    sunssf(wSf),
    int16(0),
    sunssf(wSf),
    int16(1000),
    sunssf(-1),
    ...acc32(whOut),
    sunssf(0),
    uint16(dcW / 600 / 0.01),
    sunssf(-2),
    uint16(600 * 10),
    sunssf(-1),
    uint16(dcW / 10 ** wSf),
    sunssf(wSf),
    int16(350),
    NI16,
    NI16,
    NI16,
    sunssf(-1),
    state,
    NU16,
    ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ];
  return m;
}

/** Model 203, wye-connected three-phase meter; W positive = import. */
function meterModel(ctx: SunSpecContext): number[] {
  const m = ctx.meter;
  const wSf = scaleFor(ctx.ratedW * 1.5, 0);
  const aSf = scaleFor((ctx.ratedW * 1.5) / VOLTS, -2);
  const phaseA = Math.abs(m.powerW) / (3 * VOLTS);
  const wh = (v: number) => [...acc32(v), ...acc32(v / 3), ...acc32(v / 3), ...acc32(v / 3)];
  const out = [
    203,
    105,
    int16((phaseA * 3) / 10 ** aSf),
    int16(phaseA / 10 ** aSf),
    int16(phaseA / 10 ** aSf),
    int16(phaseA / 10 ** aSf),
    sunssf(aSf),
    int16(2300),
    int16(2300),
    int16(2300),
    int16(2300),
    int16(4000),
    int16(4000),
    int16(4000),
    int16(4000),
    sunssf(-1),
    int16(ctx.sim.frequencyHz() * 100),
    sunssf(-2),
    int16(m.powerW / 10 ** wSf),
    int16(m.powerW / 3 / 10 ** wSf),
    int16(m.powerW / 3 / 10 ** wSf),
    int16(m.powerW / 3 / 10 ** wSf),
    sunssf(wSf),
    int16(Math.abs(m.powerW) / 10 ** wSf),
    int16(Math.abs(m.powerW) / 3 / 10 ** wSf),
    int16(Math.abs(m.powerW) / 3 / 10 ** wSf),
    int16(Math.abs(m.powerW) / 3 / 10 ** wSf),
    sunssf(wSf),
    0,
    0,
    0,
    0,
    sunssf(wSf),
    int16(1000),
    int16(1000),
    int16(1000),
    int16(1000),
    sunssf(-1),
    ...wh(m.exportWh),
    ...wh(m.importWh),
    sunssf(0),
    ...new Array(16).fill(0),
    NSF,
    ...new Array(32).fill(0),
    NSF,
    0,
    0,
  ];
  return out;
}

/** Model 123, immediate controls (PV active-power limit). */
function controlsModel(pv: PvDevice): number[] {
  const m = new Array(26).fill(0);
  m[0] = 123;
  m[1] = 24;
  m[4] = 1; // Conn: connected
  m[5] = uint16(pv.limitPct * 10);
  m[7] = uint16(pv.watchdog.timeoutMs / 1000);
  m[9] = pv.limitEnabled ? 1 : 0;
  m[10] = NI16;
  m[15] = NI16;
  m[16] = NI16;
  m[17] = NI16;
  m[23] = sunssf(-1);
  m[24] = NSF;
  m[25] = NSF;
  return m;
}

/** What the controller last wrote to a storage unit's model 124 (reset by the fail-safe). */
export interface StorageControl {
  mode: number;
  inPct: number;
  outPct: number;
}

function storageModel(b: BatteryDevice, ctl: StorageControl, wSf: number): number[] {
  const p = b.params;
  const soc = (b.storedWh / p.capacityWh) * 100;
  let chaSt = 6; // holding
  if (b.meter.powerW > 0) chaSt = 4;
  else if (b.meter.powerW < 0) chaSt = 3;
  else if (soc >= p.maxSocPct - 0.05) chaSt = 5;
  else if (soc <= p.minSocPct + 0.05) chaSt = 2;
  const m = new Array(26).fill(0);
  m[0] = 124;
  m[1] = 24;
  m[2] = uint16(p.maxChargeW / 10 ** wSf);
  m[3] = 100;
  m[4] = 100;
  m[5] = ctl.mode;
  m[6] = NU16;
  m[7] = uint16(p.minSocPct);
  m[8] = uint16(soc * 10);
  m[9] = NU16;
  m[10] = NU16;
  m[11] = chaSt;
  m[12] = int16(ctl.outPct * 100);
  m[13] = int16(ctl.inPct * 100);
  m[15] = uint16(b.watchdog.timeoutMs / 1000);
  m[17] = 1; // ChaGriSet: grid charging allowed
  m[18] = sunssf(wSf);
  m[19] = sunssf(0);
  m[20] = NSF;
  m[21] = sunssf(0);
  m[22] = sunssf(-1);
  m[23] = NSF;
  m[24] = NSF;
  m[25] = sunssf(-2);
  return m;
}

const END = [0xffff, 0];
const rel = (abs: number, modelStart: number) => abs - modelStart;

function rethrow(err: unknown): never {
  if (err instanceof IllegalValueError) throw new ModbusException(ILLEGAL_VALUE, err.message);
  throw err;
}

/** PV inverter: common 1, inverter 103, immediate controls 123. */
export function inverterBlock(ctx: SunSpecContext & { device: PvDevice }): RegisterBlock {
  const pv = ctx.device;
  return {
    start: SUNSPEC_BASE,
    length: SUNSPEC_LAYOUT.inverterEnd + 2 - SUNSPEC_BASE,
    read() {
      const acW = -pv.meter.powerW;
      const throttled = pv.limitEnabled && pv.availableW > acW + 1;
      const st = acW <= 0 ? 2 : throttled ? 5 : 4;
      return [
        0x5375,
        0x6e53,
        ...commonModel(ctx),
        ...inverterModel(ctx, acW, pv.meter.exportWh, st),
        ...controlsModel(pv),
        ...END,
      ];
    },
    write(address, values) {
      const now = ctx.sim.tMs;
      let pct = pv.limitPct;
      let enabled = pv.limitEnabled;
      let timeoutS = pv.watchdog.timeoutMs / 1000;
      values.forEach((v, i) => {
        const off = rel(address + i, SUNSPEC_LAYOUT.third);
        if (off === 5) {
          if (v > 1000) throw new ModbusException(ILLEGAL_VALUE, 'WMaxLimPct above 100 %');
          pct = v / 10;
        } else if (off === 7) timeoutS = v;
        else if (off === 9) {
          if (v > 1) throw new ModbusException(ILLEGAL_VALUE, 'WMaxLim_Ena must be 0 or 1');
          enabled = v === 1;
        } else throw new ModbusException(ILLEGAL_ADDRESS, `register ${address + i} is read-only`);
      });
      pv.watchdog.timeoutMs = timeoutS * 1000;
      try {
        controls.pvLimit(pv, pct, enabled, now);
      } catch (err) {
        rethrow(err);
      }
    },
  };
}

/** Battery inverter: common 1, inverter 103 (W positive = discharging), storage 124. */
export function storageBlock(ctx: SunSpecContext & { device: BatteryDevice }): RegisterBlock {
  const b = ctx.device;
  const wSf = scaleFor(b.params.maxChargeW, 0);
  const ctl: StorageControl = { mode: 0, inPct: 0, outPct: 0 };
  const current = () => {
    if (b.watchdog.lastRefreshMs === null && b.setpointW === 0)
      Object.assign(ctl, { mode: 0, inPct: 0, outPct: 0 });
    return ctl;
  };
  return {
    start: SUNSPEC_BASE,
    length: SUNSPEC_LAYOUT.inverterEnd + 2 - SUNSPEC_BASE,
    read() {
      const acW = -b.meter.powerW;
      return [
        0x5375,
        0x6e53,
        ...commonModel(ctx),
        ...inverterModel(ctx, acW, b.meter.exportWh, acW === 0 ? 8 : 4),
        ...storageModel(b, current(), wSf),
        ...END,
      ];
    },
    write(address, values) {
      const next = { ...current() };
      let timeoutS = b.watchdog.timeoutMs / 1000;
      values.forEach((v, i) => {
        const off = rel(address + i, SUNSPEC_LAYOUT.third);
        const pct = toInt16(v) / 100;
        if (off === 5) {
          if (v > 3)
            throw new ModbusException(ILLEGAL_VALUE, 'StorCtl_Mod: only bits 0 (charge) and 1 (discharge)');
          next.mode = v;
        } else if (off === 12 || off === 13) {
          if (pct < -100 || pct > 100) throw new ModbusException(ILLEGAL_VALUE, 'rate must be −100…100 %');
          if (off === 12) next.outPct = pct;
          else next.inPct = pct;
        } else if (off === 15) timeoutS = v;
        else throw new ModbusException(ILLEGAL_ADDRESS, `register ${address + i} is read-only`);
      });
      const pctW = ((next.mode & 1 ? next.inPct : 0) - (next.mode & 2 ? next.outPct : 0)) / 100;
      b.watchdog.timeoutMs = timeoutS * 1000;
      try {
        controls.batteryPower(b, pctW * b.params.maxChargeW, ctx.sim.tMs);
      } catch (err) {
        rethrow(err);
      }
      Object.assign(ctl, next);
    },
  };
}

/** A meter: common 1, meter 203. Read-only. */
export function meterBlock(ctx: SunSpecContext): RegisterBlock {
  return {
    start: SUNSPEC_BASE,
    length: SUNSPEC_LAYOUT.meterEnd + 2 - SUNSPEC_BASE,
    read: () => [0x5375, 0x6e53, ...commonModel(ctx), ...meterModel(ctx), ...END],
  };
}
