import { z } from 'zod';

/** Data types a register map can declare. Sizes are in 16-bit registers. */
export const RegisterTypeSchema = z.enum([
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'float32',
  'int64',
  'uint64',
  'float64',
]);
export type RegisterType = z.infer<typeof RegisterTypeSchema>;

/** `big`: most significant first (Modbus's own order); `little`: least significant first. */
export const OrderSchema = z.enum(['big', 'little']);
export type Order = z.infer<typeof OrderSchema>;

export const REGISTER_COUNT: Record<RegisterType, number> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

/**
 * Raw patterns a device uses for "no value". `sunspec` follows pysunspec2: int16 0x8000,
 * uint16 0xFFFF, int32 0x80000000, uint32 0xFFFFFFFF, 64-bit likewise, float32 NaN;
 * `sunspec-acc` (SunSpec accumulators) treats 0 as "not implemented", as pysunspec2 does;
 * `all-ones` is ABB's convention (unsigned all 0xFF, signed 0x7FFF…). NaN and ±Infinity are
 * always invalid.
 */
export const InvalidMarkerSchema = z.enum(['none', 'sunspec', 'sunspec-acc', 'all-ones']);
export type InvalidMarker = z.infer<typeof InvalidMarkerSchema>;

export interface DecodeSpec {
  type: RegisterType;
  wordOrder?: Order;
  byteOrder?: Order;
  invalid?: InvalidMarker;
}

export type Decoded = { ok: true; value: number } | { ok: false; reason: string };

/** Registers as they came off the wire → big-endian bytes of the value. */
export function registersToBytes(words: readonly number[], wordOrder: Order, byteOrder: Order): Buffer {
  const ordered = wordOrder === 'little' ? [...words].reverse() : words;
  const buf = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    const hi = (w >> 8) & 0xff;
    const lo = w & 0xff;
    buf[i * 2] = byteOrder === 'little' ? lo : hi;
    buf[i * 2 + 1] = byteOrder === 'little' ? hi : lo;
  });
  return buf;
}

/** The inverse of `registersToBytes`: big-endian value bytes → registers in wire order. */
export function bytesToRegisters(buf: Buffer, wordOrder: Order, byteOrder: Order): number[] {
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2) {
    const hi = buf[i]!;
    const lo = buf[i + 1]!;
    words.push(byteOrder === 'little' ? (lo << 8) | hi : (hi << 8) | lo);
  }
  return wordOrder === 'little' ? words.reverse() : words;
}

function isMarker(buf: Buffer, type: RegisterType, invalid: InvalidMarker): boolean {
  if (invalid === 'none' || type === 'bool') return false;
  if (invalid === 'sunspec-acc') return buf.every((b) => b === 0);
  const signed = type.startsWith('int');
  const allFF = buf.every((b) => b === 0xff);
  if (invalid === 'all-ones')
    return signed ? buf[0] === 0x7f && buf.subarray(1).every((b) => b === 0xff) : allFF;
  // sunspec
  if (type === 'float32' || type === 'float64') return false; // NaN is caught for every marker
  if (signed) return buf[0] === 0x80 && buf.subarray(1).every((b) => b === 0);
  return allFF;
}

/**
 * Decode one value from its registers (wire order). Returns a reason instead of a number
 * when the registers hold a "not implemented" marker or a non-finite float: such a reading
 * is `bad`, never a made-up number. 64-bit integers become JS numbers (exact up to 2^53,
 * about 9 × 10^15 Wh).
 */
export function decodeRegisters(words: readonly number[], spec: DecodeSpec): Decoded {
  const n = REGISTER_COUNT[spec.type];
  if (words.length !== n) return { ok: false, reason: `expected ${n} registers, got ${words.length}` };
  const buf = registersToBytes(words, spec.wordOrder ?? 'big', spec.byteOrder ?? 'big');
  if (isMarker(buf, spec.type, spec.invalid ?? 'none'))
    return { ok: false, reason: `not-implemented marker 0x${buf.toString('hex')}` };
  let value: number;
  switch (spec.type) {
    case 'bool':
      value = buf.readUInt16BE(0) === 0 ? 0 : 1;
      break;
    case 'int16':
      value = buf.readInt16BE(0);
      break;
    case 'uint16':
      value = buf.readUInt16BE(0);
      break;
    case 'int32':
      value = buf.readInt32BE(0);
      break;
    case 'uint32':
      value = buf.readUInt32BE(0);
      break;
    case 'float32':
      value = buf.readFloatBE(0);
      break;
    case 'int64':
      value = Number(buf.readBigInt64BE(0));
      break;
    case 'uint64':
      value = Number(buf.readBigUInt64BE(0));
      break;
    case 'float64':
      value = buf.readDoubleBE(0);
      break;
  }
  if (!Number.isFinite(value)) return { ok: false, reason: `non-finite value (${value})` };
  return { ok: true, value };
}

/**
 * Encode a raw (already unscaled) value into registers in wire order. Integers must be
 * whole and fit the type; the caller refuses the write otherwise.
 */
export function encodeRegisters(
  raw: number,
  spec: DecodeSpec,
): { ok: true; words: number[] } | { ok: false; reason: string } {
  const buf = Buffer.alloc(REGISTER_COUNT[spec.type] * 2);
  const intRange: Partial<Record<RegisterType, [number, number]>> = {
    bool: [0, 1],
    int16: [-0x8000, 0x7fff],
    uint16: [0, 0xffff],
    int32: [-0x80000000, 0x7fffffff],
    uint32: [0, 0xffffffff],
    int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    uint64: [0, Number.MAX_SAFE_INTEGER],
  };
  const range = intRange[spec.type];
  if (range) {
    if (!Number.isInteger(raw)) return { ok: false, reason: `${raw} is not a whole number for ${spec.type}` };
    if (raw < range[0] || raw > range[1]) return { ok: false, reason: `${raw} does not fit ${spec.type}` };
  }
  switch (spec.type) {
    case 'bool':
    case 'uint16':
      buf.writeUInt16BE(raw, 0);
      break;
    case 'int16':
      buf.writeInt16BE(raw, 0);
      break;
    case 'int32':
      buf.writeInt32BE(raw, 0);
      break;
    case 'uint32':
      buf.writeUInt32BE(raw, 0);
      break;
    case 'float32':
      buf.writeFloatBE(raw, 0);
      break;
    case 'int64':
      buf.writeBigInt64BE(BigInt(raw), 0);
      break;
    case 'uint64':
      buf.writeBigUInt64BE(BigInt(raw), 0);
      break;
    case 'float64':
      buf.writeDoubleBE(raw, 0);
      break;
  }
  return { ok: true, words: bytesToRegisters(buf, spec.wordOrder ?? 'big', spec.byteOrder ?? 'big') };
}

/** SunSpec scale factors are int16 exponents; 0x8000 means "not implemented". */
export function decodeScaleFactor(word: number): number | null {
  const sf = word >= 0x8000 ? word - 0x10000 : word;
  if (sf === -0x8000 || sf < -10 || sf > 10) return null;
  return sf;
}

/** raw × 10^sf, computed so that e.g. 2301 × 10^-1 is exactly 230.1. */
export function applyScaleFactor(raw: number, sf: number): number {
  return sf >= 0 ? raw * 10 ** sf : raw / 10 ** -sf;
}
