/** Encoding of values into 16-bit Modbus registers (big-endian, high word first). */

export const NOT_IMPLEMENTED = {
  int16: 0x8000,
  uint16: 0xffff,
  sunssf: 0x8000,
} as const;

export function int16(v: number): number {
  const r = Math.round(v);
  return Math.max(-32767, Math.min(32767, r)) & 0xffff;
}

export function uint16(v: number): number {
  return Math.max(0, Math.min(0xfffe, Math.round(v)));
}

/** Signed scale factor as a register. */
export function sunssf(sf: number): number {
  return sf & 0xffff;
}

export function toInt16(reg: number): number {
  return reg >= 0x8000 ? reg - 0x10000 : reg;
}

/** acc32: an accumulator, wraps at 2^32. */
export function acc32(v: number): [number, number] {
  const n = Math.floor(v) % 4294967296;
  return [Math.floor(n / 65536), n % 65536];
}

export function float32(v: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

/** ASCII string padded with NUL to `regs` registers. */
export function str(text: string, regs: number): number[] {
  const b = Buffer.alloc(regs * 2);
  b.write(text.slice(0, regs * 2), 'ascii');
  return Array.from({ length: regs }, (_, i) => b.readUInt16BE(i * 2));
}

/** Smallest scale factor (≥ min) at which `maxAbs` fits an int16. */
export function scaleFor(maxAbs: number, min: number): number {
  let sf = min;
  while (maxAbs / 10 ** sf > 32000) sf++;
  return sf;
}
