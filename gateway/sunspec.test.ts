import { describe, expect, it } from 'vitest';
import { decodeSunSpecString, discoverSunSpec, sunSpecRegister } from './sunspec.js';

/** A register image with a SunSpec map at `base`: common (L=65, like Fronius), meter 203, end. */
function image(base: number, commonLength = 65): Map<number, number> {
  const m = new Map<number, number>();
  m.set(base, 0x5375).set(base + 1, 0x6e53);
  m.set(base + 2, 1).set(base + 3, commonLength);
  const meter = base + 4 + commonLength;
  m.set(meter, 203).set(meter + 1, 105);
  m.set(meter + 107, 0xffff).set(meter + 108, 0);
  return m;
}

const reader = (m: Map<number, number>) => async (address: number, count: number) => {
  // As the link reports it: a Modbus exception carries its code.
  if (!m.has(address)) throw Object.assign(new Error('illegal data address'), { exceptionCode: 2 });
  return Array.from({ length: count }, (_, i) => m.get(address + i) ?? 0);
};

describe('discoverSunSpec', () => {
  it('finds the marker at 40000 and walks the chain by L', async () => {
    const map = await discoverSunSpec(reader(image(40000)));
    expect(map).toEqual({
      base: 40000,
      models: [
        { id: 1, address: 40002, length: 65 },
        { id: 203, address: 40069, length: 105 },
      ],
    });
  });

  it('probes 0 and 50000 when 40000 has no marker', async () => {
    expect((await discoverSunSpec(reader(image(0))))?.base).toBe(0);
    expect((await discoverSunSpec(reader(image(50000))))?.base).toBe(50000);
  });

  it('returns null when no base holds SunS', async () => {
    expect(await discoverSunSpec(reader(new Map([[40000, 1]])))).toBeNull();
  });

  it('places points and scale factors from the model address (standard layout)', async () => {
    const map = (await discoverSunSpec(reader(image(40000, 66))))!;
    const w = sunSpecRegister(map, '203.W');
    expect(w).toMatchObject({ address: 40088, scaleFactor: 40092, type: 'int16', invalid: 'sunspec' });
    expect(sunSpecRegister(map, '203.TotWhImp')).toMatchObject({
      address: 40116,
      scaleFactor: 40124,
      invalid: 'sunspec-acc',
    });
    expect(sunSpecRegister(map, '103.W')).toEqual({ error: 'the device has no SunSpec model 103' });
  });

  it('decodes NUL-padded strings', () => {
    expect(decodeSunSpecString([0x4672, 0x6f6e, 0x6975, 0x7300, 0])).toBe('Fronius');
  });
});
