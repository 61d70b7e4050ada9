import { describe, expect, it } from 'vitest';
import {
  applyScaleFactor,
  type DecodeSpec,
  decodeRegisters,
  decodeScaleFactor,
  encodeRegisters,
} from './decode.js';

describe('decodeRegisters', () => {
  const cases: [string, number[], DecodeSpec, number | null][] = [
    ['uint16', [0xffff], { type: 'uint16' }, 65535],
    ['int16 negative', [0xfff6], { type: 'int16' }, -10],
    ['int16 byte-swapped', [0xf6ff], { type: 'int16', byteOrder: 'little' }, -10],
    ['uint32 ABCD', [0x0001, 0x0002], { type: 'uint32' }, 65538],
    ['uint32 CDAB (low word first)', [0x0002, 0x0001], { type: 'uint32', wordOrder: 'little' }, 65538],
    ['int32 CDAB negative (EM24 style)', [0xfff6, 0xffff], { type: 'int32', wordOrder: 'little' }, -10],
    ['int32 BADC', [0x0100, 0x0200], { type: 'int32', byteOrder: 'little' }, 65538],
    ['int32 DCBA', [0x0200, 0x0100], { type: 'int32', wordOrder: 'little', byteOrder: 'little' }, 65538],
    ['float32 ABCD 230.5', [0x4366, 0x8000], { type: 'float32' }, 230.5],
    ['float32 CDAB 230.5', [0x8000, 0x4366], { type: 'float32', wordOrder: 'little' }, 230.5],
    ['float32 NaN is bad', [0x7fc0, 0x0000], { type: 'float32' }, null],
    ['float32 +Inf is bad', [0x7f80, 0x0000], { type: 'float32' }, null],
    ['uint64 counter', [0, 0, 0x0001, 0x0000], { type: 'uint64' }, 65536],
    ['int64 -1', [0xffff, 0xffff, 0xffff, 0xffff], { type: 'int64' }, -1],
    ['float64 1.5', [0x3ff8, 0, 0, 0], { type: 'float64' }, 1.5],
    ['SunSpec int16 0x8000 is bad', [0x8000], { type: 'int16', invalid: 'sunspec' }, null],
    ['SunSpec int16 0x8001 is a value', [0x8001], { type: 'int16', invalid: 'sunspec' }, -32767],
    ['SunSpec uint16 0xFFFF is bad', [0xffff], { type: 'uint16', invalid: 'sunspec' }, null],
    ['SunSpec uint32 all ones is bad', [0xffff, 0xffff], { type: 'uint32', invalid: 'sunspec' }, null],
    ['SunSpec int32 0x80000000 is bad', [0x8000, 0], { type: 'int32', invalid: 'sunspec' }, null],
    ['SunSpec acc32 0 is bad', [0, 0], { type: 'uint32', invalid: 'sunspec-acc' }, null],
    ['SunSpec acc32 1 is a value', [0, 1], { type: 'uint32', invalid: 'sunspec-acc' }, 1],
    [
      'ABB uint64 all ones is bad',
      [0xffff, 0xffff, 0xffff, 0xffff],
      { type: 'uint64', invalid: 'all-ones' },
      null,
    ],
    ['ABB int32 0x7FFFFFFF is bad', [0x7fff, 0xffff], { type: 'int32', invalid: 'all-ones' }, null],
    ['ABB int32 -1 is a value', [0xffff, 0xffff], { type: 'int32', invalid: 'all-ones' }, -1],
    ['wrong register count is bad', [1], { type: 'uint32' }, null],
  ];
  it.each(cases)('%s', (_name, words, spec, expected) => {
    const d = decodeRegisters(words, spec);
    if (expected === null) expect(d.ok).toBe(false);
    else expect(d).toEqual({ ok: true, value: expected });
  });

  it('round-trips every type and order through encodeRegisters', () => {
    const values: [DecodeSpec['type'], number][] = [
      ['int16', -1234],
      ['uint16', 54321],
      ['int32', -123456789],
      ['uint32', 3_000_000_000],
      ['float32', 0.5],
      ['int64', -9_000_000_000_000],
      ['uint64', 9_000_000_000_000],
      ['float64', Math.PI],
    ];
    for (const [type, v] of values)
      for (const wordOrder of ['big', 'little'] as const)
        for (const byteOrder of ['big', 'little'] as const) {
          const spec = { type, wordOrder, byteOrder };
          const enc = encodeRegisters(v, spec);
          if (!enc.ok) throw new Error(enc.reason);
          expect(decodeRegisters(enc.words, spec)).toEqual({ ok: true, value: v });
        }
  });

  it('refuses to encode values that do not fit', () => {
    expect(encodeRegisters(70000, { type: 'uint16' }).ok).toBe(false);
    expect(encodeRegisters(-1, { type: 'uint32' }).ok).toBe(false);
    expect(encodeRegisters(1.5, { type: 'int16' }).ok).toBe(false);
  });
});

describe('scale factors', () => {
  it.each([
    [0x0000, 0],
    [0xffff, -1],
    [0xfffe, -2],
    [0x0003, 3],
    [0x8000, null],
    [0x0020, null],
  ])('sf word 0x%s → %s', (word, sf) => expect(decodeScaleFactor(word)).toBe(sf));

  it('applies 10^sf without binary noise', () => {
    expect(applyScaleFactor(2301, -1)).toBe(230.1);
    expect(applyScaleFactor(12345, -2)).toBe(123.45);
    expect(applyScaleFactor(15, 3)).toBe(15000);
  });
});
