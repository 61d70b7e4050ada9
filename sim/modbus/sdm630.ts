import type { MeterState } from '../physics/meter.js';
import { float32 } from './registers.js';
import type { RegisterBlock } from './unit.js';

/** Eastron SDM630 input registers (FC 04), float32 big-endian, 0-based wire addresses. */
export const SDM630 = {
  voltageL1: 0x0000,
  voltageL2: 0x0002,
  voltageL3: 0x0004,
  currentL1: 0x0006,
  currentL2: 0x0008,
  currentL3: 0x000a,
  powerL1: 0x000c,
  powerL2: 0x000e,
  powerL3: 0x0010,
  totalPower: 0x0034,
  totalVa: 0x0038,
  totalVar: 0x003c,
  totalPf: 0x003e,
  frequency: 0x0046,
  importKwh: 0x0048,
  exportKwh: 0x004a,
  importKvarh: 0x004c,
  exportKvarh: 0x004e,
  totalKwh: 0x0156,
  importKwhL1: 0x015a,
  importKwhL2: 0x015c,
  importKwhL3: 0x015e,
} as const;
/** Registers 0x0000–0x017F answer (unlisted ones read 0); beyond is exception 2. */
export const SDM630_LENGTH = 0x0180;

export function sdm630Block(meter: MeterState, frequencyHz: () => number): RegisterBlock {
  return {
    start: 0,
    length: SDM630_LENGTH,
    read() {
      const regs = new Array<number>(SDM630_LENGTH).fill(0);
      const put = (addr: number, v: number) => {
        const [hi, lo] = float32(v);
        regs[addr] = hi;
        regs[addr + 1] = lo;
      };
      const w = meter.powerW;
      const a = Math.abs(w) / 3 / 230;
      for (const addr of [SDM630.voltageL1, SDM630.voltageL2, SDM630.voltageL3]) put(addr, 230);
      for (const addr of [SDM630.currentL1, SDM630.currentL2, SDM630.currentL3]) put(addr, a);
      for (const addr of [SDM630.powerL1, SDM630.powerL2, SDM630.powerL3]) put(addr, w / 3);
      put(SDM630.totalPower, w);
      put(SDM630.totalVa, Math.abs(w));
      put(SDM630.totalVar, 0);
      put(SDM630.totalPf, 1);
      put(SDM630.frequency, frequencyHz());
      put(SDM630.importKwh, meter.importWh / 1000);
      put(SDM630.exportKwh, meter.exportWh / 1000);
      put(SDM630.totalKwh, (meter.importWh + meter.exportWh) / 1000);
      for (const addr of [SDM630.importKwhL1, SDM630.importKwhL2, SDM630.importKwhL3])
        put(addr, meter.importWh / 3000);
      return regs;
    },
  };
}
