import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../stream/index.js';
import { type GatewayConfig, GatewayConfigSchema } from './config.js';
import {
  applyScaleFactor,
  type DecodeSpec,
  decodeRegisters,
  decodeScaleFactor,
  encodeRegisters,
  REGISTER_COUNT,
  RegisterTypeSchema,
} from './decode.js';
import { Gateway } from './gateway.js';

const spec = fc.record({
  type: fc.constantFrom(...RegisterTypeSchema.options),
  wordOrder: fc.constantFrom('big' as const, 'little' as const),
  byteOrder: fc.constantFrom('big' as const, 'little' as const),
  invalid: fc.constantFrom('none' as const, 'sunspec' as const, 'sunspec-acc' as const, 'all-ones' as const),
}) satisfies fc.Arbitrary<DecodeSpec>;

describe('Modbus register decoding under hostile input (fast-check)', () => {
  it('never throws and never yields a non-finite number, whatever the device sends', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 0x1_0000 }), { maxLength: 6 }), spec, (words, s) => {
        const out = decodeRegisters(words, s);
        if (out.ok) expect(Number.isFinite(out.value)).toBe(true);
        else expect(out.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes what it encodes, for every type and word/byte order', () => {
    fc.assert(
      fc.property(spec, fc.integer({ min: -0x8000_0000, max: 0xffff_ffff }), (s, n) => {
        const raw = s.type.startsWith('float') ? n / 7 : n;
        const enc = encodeRegisters(raw, { ...s, invalid: 'none' });
        if (!enc.ok) return; // out of the type's range: the caller refuses the write
        expect(enc.words).toHaveLength(REGISTER_COUNT[s.type]);
        for (const w of enc.words) expect(w >= 0 && w <= 0xffff).toBe(true);
        const dec = decodeRegisters(enc.words, { ...s, invalid: 'none' });
        expect(dec.ok).toBe(true);
        if (!dec.ok) return;
        if (s.type === 'float32') expect(dec.value).toBeCloseTo(Math.fround(raw), 0);
        else if (s.type === 'bool') expect(dec.value).toBe(raw === 0 ? 0 : 1);
        else expect(dec.value).toBe(raw);
      }),
      { numRuns: 2000 },
    );
  });

  it('scale factors outside SunSpec range are refused, never applied', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: -0x8000, max: 0x7fff }),
        (w, raw) => {
          const sf = decodeScaleFactor(w);
          if (sf === null) return;
          expect(sf).toBeGreaterThanOrEqual(-10);
          expect(sf).toBeLessThanOrEqual(10);
          expect(Number.isFinite(applyScaleFactor(raw, sf))).toBe(true);
        },
      ),
    );
  });
});

/**
 * A "device" that answers every Modbus TCP request with a frame fast-check made up: its own
 * transaction id (so the client takes it as the answer) followed by random header fields and
 * PDU bytes, a truncated frame, or silence. The gateway must turn all of it into bad readings.
 */
async function garbageDevice(frames: Uint8Array[]): Promise<{ port: number; stop: () => Promise<void> }> {
  let i = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.on('data', (req) => {
      const body = frames[i++ % frames.length]!;
      if (body.length === 0) return; // silence: the client's timeout
      sock.write(Buffer.concat([req.subarray(0, 2), Buffer.from(body)]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

describe('Modbus frames off the wire under hostile input', () => {
  it('turns garbage answers into bad readings, never a crash or a made-up value', async () => {
    const frames = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 0 }),
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        // protocol id 0, a length that may lie, unit 1, a read-holding answer with a byte count that may lie
        fc
          .tuple(
            fc.integer({ min: 0, max: 300 }),
            fc.integer({ min: 0, max: 255 }),
            fc.uint8Array({ maxLength: 40 }),
          )
          .map(([len, count, data]) => Uint8Array.from([0, 0, len >> 8, len & 0xff, 1, 3, count, ...data])),
        // an exception answer with any code
        fc.integer({ min: 0, max: 255 }).map((code) => Uint8Array.from([0, 0, 0, 3, 1, 0x83, code])),
      ),
      { numRuns: 24, seed: 42 },
    );
    const dev = await garbageDevice(frames);
    stops.push(dev.stop);
    const cfg = GatewayConfigSchema.parse({
      site: 'fuzz',
      devices: [
        {
          id: 'meter',
          protocol: 'modbus',
          profile: 'sdm630',
          retries: 0,
          connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port, unitId: 1, timeoutMs: 300 },
          points: [
            { id: 'power', kind: 'active_power' },
            { id: 'voltage_l1', kind: 'voltage' },
            { id: 'energy_import', kind: 'energy_import' },
          ],
        },
      ],
    }) as GatewayConfig;
    const g = new Gateway(cfg, new Hub(), {
      link: { minBackoffMs: 10, maxBackoffMs: 20 },
      log: () => undefined,
    });
    stops.push(() => g.stop());
    let bad = 0;
    for (let poll = 0; poll < frames.length; poll++) {
      const out = await g.pollOnce();
      expect(out.readings).toHaveLength(3);
      for (const r of out.readings) {
        if (r.quality === 'bad') {
          expect(r.value).toBeNull();
          bad++;
        } else expect(Number.isFinite(r.value)).toBe(true);
      }
    }
    // The garbage reached the decoder: most of it must have been refused.
    expect(bad).toBeGreaterThan(frames.length);
  }, 60_000);
});
