import { connect, createServer, type Server, type Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import type { ModbusFunction } from './register-map.js';

/**
 * Small Modbus devices for tests and the bench, on loopback: a register image served over
 * Modbus TCP (modbus-serial's ServerTCP) or as RTU frames over TCP (a serial converter).
 * Addresses missing from the image answer exception 2, as real devices do.
 */
export class RegisterImage {
  readonly tables: Record<ModbusFunction, Map<number, number>> = {
    coil: new Map(),
    discrete: new Map(),
    input: new Map(),
    holding: new Map(),
  };
  /** Called before a write is applied; throw `{ modbusErrorCode }` to refuse it. */
  onWrite: ((address: number, words: number[]) => void) | null = null;
  /** Called before a read is answered; throw `{ modbusErrorCode }` to refuse it (a transient fault). */
  onRead: ((fn: ModbusFunction, address: number, count: number) => void) | null = null;
  /** Answer reads this much later (a slow device; Modbus TCP server only). */
  delayMs = 0;
  reads = 0;

  put(fn: ModbusFunction, address: number, words: readonly number[]): this {
    words.forEach((w, i) => {
      this.tables[fn].set(address + i, w);
    });
    return this;
  }

  putFloat32(fn: ModbusFunction, address: number, value: number, wordOrder: 'big' | 'little' = 'big'): this {
    const b = Buffer.alloc(4);
    b.writeFloatBE(value);
    const words = [b.readUInt16BE(0), b.readUInt16BE(2)];
    return this.put(fn, address, wordOrder === 'big' ? words : words.reverse());
  }

  read(fn: ModbusFunction, address: number, count: number): number[] {
    this.reads += 1;
    this.onRead?.(fn, address, count);
    const t = this.tables[fn];
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const v = t.get(address + i);
      if (v === undefined) throw { modbusErrorCode: 2, msg: `no register ${address + i}` };
      out.push(v);
    }
    return out;
  }

  write(fn: ModbusFunction, address: number, words: number[]): void {
    for (let i = 0; i < words.length; i++)
      if (!this.tables[fn].has(address + i)) throw { modbusErrorCode: 2, msg: `no register ${address + i}` };
    this.onWrite?.(address, words);
    this.put(fn, address, words);
  }
}

/** A free TCP port on 127.0.0.1 (modbus-serial turns port 0 into 502, so tests pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestDevice {
  port: number;
  image: RegisterImage;
  /** Stop serving and drop every connection (a device restart or power cut). */
  stop(): Promise<void>;
  /** Serve again on the same port. */
  start(): Promise<void>;
}

/** Modbus TCP server answering every unit id from `image`. */
export async function startModbusTcp(image: RegisterImage, port?: number): Promise<TestDevice> {
  const p = port ?? (await freePort());
  let server: ServerTCP | null = null;
  // modbus-serial's callback form (four parameters), so that a slow device can answer later.
  const many =
    (fn: ModbusFunction) =>
    (a: number, n: number, _unit: number, cb: (err: Error | null, values: number[]) => void) => {
      const answer = () => {
        try {
          cb(null, image.read(fn, a, n));
        } catch (err) {
          // The thrown `{ modbusErrorCode }` becomes the exception answer.
          cb(err as Error, []);
        }
      };
      if (image.delayMs > 0) setTimeout(answer, image.delayMs);
      else answer();
    };
  const vector = {
    getMultipleHoldingRegisters: many('holding'),
    getMultipleInputRegisters: many('input'),
    getHoldingRegister: (a: number) => image.read('holding', a, 1)[0]!,
    getInputRegister: (a: number) => image.read('input', a, 1)[0]!,
    getCoil: (a: number) => image.read('coil', a, 1)[0] === 1,
    getDiscreteInput: (a: number) => image.read('discrete', a, 1)[0] === 1,
    setRegister: (a: number, v: number) => image.write('holding', a, [v]),
    setRegisterArray: (a: number, v: number[]) => image.write('holding', a, v),
    setCoil: (a: number, v: boolean) => image.write('coil', a, [v ? 1 : 0]),
  };
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = new ServerTCP(vector, { host: '127.0.0.1', port: p, unitID: 255 });
      s.on('initialized', () => resolve());
      s.on('serverError', reject);
      s.on('socketError', () => undefined);
      server = s;
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
    });
  await start();
  return { port: p, image, stop, start };
}

function crc16(buf: Buffer): number {
  let crc = 0xffff;
  for (const b of buf) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

/**
 * Modbus RTU frames over a TCP socket (a serial-to-Ethernet converter) for unit `unitId`:
 * FC 3, 4, 6 and 16. Frames for other units are ignored, as on a shared RS-485 bus.
 */
export async function startRtuOverTcp(
  image: RegisterImage,
  unitId: number,
  port?: number,
): Promise<TestDevice> {
  const p = port ?? (await freePort());
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  const answer = (req: Buffer): Buffer | null => {
    const unit = req[0]!;
    const fc = req[1]!;
    if (unit !== unitId) return null;
    const address = req.readUInt16BE(2);
    try {
      if (fc === 3 || fc === 4) {
        const words = image.read(fc === 3 ? 'holding' : 'input', address, req.readUInt16BE(4));
        const body = Buffer.alloc(3 + words.length * 2);
        body[0] = unit;
        body[1] = fc;
        body[2] = words.length * 2;
        words.forEach((w, i) => {
          body.writeUInt16BE(w, 3 + i * 2);
        });
        return frame(body);
      }
      if (fc === 6) {
        image.write('holding', address, [req.readUInt16BE(4)]);
        return frame(req.subarray(0, 6));
      }
      if (fc === 16) {
        const n = req.readUInt16BE(4);
        const words = Array.from({ length: n }, (_, i) => req.readUInt16BE(7 + i * 2));
        image.write('holding', address, words);
        return frame(req.subarray(0, 6));
      }
      return frame(Buffer.from([unit, fc | 0x80, 1]));
    } catch (err) {
      const code = (err as { modbusErrorCode?: number }).modbusErrorCode ?? 4;
      return frame(Buffer.from([unit, fc | 0x80, code]));
    }
  };
  const frameLength = (buf: Buffer): number => {
    if (buf.length < 7) return 0;
    const fc = buf[1]!;
    if (fc === 16) return buf.length >= 7 ? 9 + buf[6]! : 0;
    return 8;
  };
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => undefined);
        let buf = Buffer.alloc(0);
        sock.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          for (let n = frameLength(buf); n > 0 && buf.length >= n; n = frameLength(buf)) {
            const req = buf.subarray(0, n);
            buf = buf.subarray(n);
            if (crc16(req.subarray(0, n - 2)) !== req.readUInt16LE(n - 2)) continue;
            const res = answer(req);
            if (res) sock.write(res);
          }
        });
      });
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => resolve());
      server = s;
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      if (!s) return resolve();
      s.close(() => resolve());
    });
  await start();
  return { port: p, image, stop, start };
}

/** An SDM630 image with known values (float32 ABCD input registers, energy in kWh). */
export function sdm630Image(
  values: { power?: number; voltage?: number; importKwh?: number } = {},
): RegisterImage {
  const img = new RegisterImage();
  for (let a = 0; a < 0x50; a += 2) img.putFloat32('input', a, 0);
  img.putFloat32('input', 0x00, values.voltage ?? 230.5);
  img.putFloat32('input', 0x02, 231.25);
  img.putFloat32('input', 0x04, 229.75);
  img.putFloat32('input', 0x34, values.power ?? 1234.5);
  img.putFloat32('input', 0x46, 50);
  img.putFloat32('input', 0x48, values.importKwh ?? 1500.25);
  img.putFloat32('input', 0x4a, 12.5);
  return img;
}

/**
 * A device that keeps its side of a TCP connection open after the client has finished
 * (many embedded stacks never close on a half-close): a relay in front of `targetPort` that
 * never ends the client's socket. Only a client that destroys its socket lets go of it.
 */
export async function startHalfOpenRelay(
  targetPort: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const device = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, device]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(device, { end: false });
    device.pipe(client, { end: false });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A gateway file for site `bern` with one Modbus controller `ctl` at 127.0.0.1:`port` whose
 * setpoint `limit` (W, holding register 100) may be written between 0 and 80: what the write
 * tests drive.
 */
export const writableLimitConfig = (port: number) => ({
  site: 'bern',
  profiles: { ctl: { registers: { limit: { address: 100, writable: true, unit: 'W' } } } },
  devices: [
    {
      id: 'ctl',
      protocol: 'modbus',
      profile: 'ctl',
      connection: { transport: 'tcp', host: '127.0.0.1', port },
      points: [{ id: 'limit', kind: 'setpoint', unit: 'W', writable: true, min: 0, max: 80 }],
    },
  ],
});

/**
 * The gateway file's `profiles` with the test inverters' profile `inverter`: setpoint `limit`
 * in W at holding 10 (int16 × 10) and these other registers.
 */
export const inverterProfiles = (registers: Record<string, unknown>) => ({
  inverter: {
    registers: { limit: { address: 10, type: 'int16', scale: 10, unit: 'W', writable: true }, ...registers },
  },
});

/** A point `limit`: a writable setpoint in W from 0 to 5000; `over` adds or replaces fields. */
export const limitSetpoint = (over: Record<string, unknown> = {}) => ({
  id: 'limit',
  kind: 'setpoint',
  unit: 'W',
  writable: true,
  min: 0,
  max: 5000,
  ...over,
});

/**
 * Device `id` of profile `inverter` on Modbus TCP at 127.0.0.1:`port` with these points;
 * `connection` adds to the loopback connection.
 */
export const loopbackInverter = (
  id: string,
  port: number,
  points: unknown[],
  connection: Record<string, unknown> = {},
) => ({
  id,
  protocol: 'modbus',
  profile: 'inverter',
  connection: { transport: 'tcp', host: '127.0.0.1', port, ...connection },
  points,
});
