import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { lazyRequire } from '../config/lazy-require.js';
import { GridflexError, type ModbusConnection } from '../model/index.js';
import { type ConnectionProblem, connectionProblem, describeError, GATEWAY_ERRORS } from './errors.js';
import type { ModbusFunction } from './register-map.js';

// modbus-serial (and its serial-port stack) is loaded on the first connection: a controller with
// no Modbus device, and every command that never polls, skip it.
const modbusSerial = lazyRequire<new () => ModbusRTU>('modbus-serial');

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** The device answered with a Modbus exception: the link is fine, the request was refused. */
export class ModbusExceptionError extends GridflexError {
  constructor(
    readonly exceptionCode: number,
    what: string,
  ) {
    super(
      GATEWAY_ERRORS.MODBUS_EXCEPTION,
      `${what}: device answered Modbus exception ${exceptionCode} (${EXCEPTIONS[exceptionCode] ?? 'device-specific'})`,
      { kind: 'unavailable', details: { exceptionCode } },
    );
  }
}

/**
 * The device could not be reached or did not answer in time. `problem` names how (refused,
 * timed out, host unreachable, …) when the cause says so; also in `details.problem`.
 */
export class DeviceUnreachableError extends GridflexError {
  readonly problem: ConnectionProblem | null;
  constructor(message: string, cause?: unknown) {
    const problem = cause === undefined ? null : (connectionProblem(cause)?.problem ?? null);
    super(GATEWAY_ERRORS.UNREACHABLE, message, { kind: 'unavailable', cause, details: { problem } });
    this.problem = problem;
  }
}

export interface LinkOptions {
  /** First reconnect delay after a failure; doubles up to `maxBackoffMs`. Defaults 500 ms and 60 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Time allowed to open the connection. Default: the connection's timeoutMs. */
  connectTimeoutMs?: number;
}

export type LinkState = 'closed' | 'connected' | 'backoff';

/**
 * One Modbus connection (a TCP socket, an RTU-over-TCP converter or a serial line), shared
 * by every unit id behind it. Requests are strictly serialised: RTU framing has no
 * transaction id, and many TCP gateways mishandle pipelining. A transport failure closes the
 * connection; the next request reconnects, no sooner than the exponential backoff allows, so
 * a dead device costs one fast failure per poll instead of a hung bus.
 */
export class ModbusLink {
  private client: ModbusRTU | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private retryAt = 0;
  private lastFailure: unknown = null;
  private closed = false;
  lastError: string | null = null;
  requests = 0;
  reconnects = 0;

  constructor(
    readonly connection: ModbusConnection,
    private readonly options: LinkOptions = {},
  ) {}

  get label(): string {
    const c = this.connection;
    return c.transport === 'rtu' ? `rtu:${c.path}` : `${c.transport}://${c.host}:${c.port}`;
  }

  get state(): LinkState {
    if (this.client?.isOpen) return 'connected';
    return Date.now() < this.retryAt ? 'backoff' : 'closed';
  }

  /** Run `fn` with exclusive use of the connection, addressed to `unitId`. */
  run<T>(unitId: number, what: string, fn: (client: ModbusRTU) => Promise<T>): Promise<T> {
    const next = this.chain.then(() => this.exec(unitId, what, fn));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async exec<T>(unitId: number, what: string, fn: (client: ModbusRTU) => Promise<T>): Promise<T> {
    if (this.closed) throw new DeviceUnreachableError(`${this.label} is closed`);
    const client = await this.connect();
    client.setID(unitId);
    this.requests += 1;
    try {
      return await fn(client);
    } catch (err) {
      const code = (err as { modbusCode?: number }).modbusCode;
      if (typeof code === 'number') throw new ModbusExceptionError(code, what);
      // A timeout or broken socket: a late answer could be taken for the next one, so start afresh.
      this.drop(err);
      throw new DeviceUnreachableError(
        `${what}: ${this.label} unit ${unitId} did not answer (${describe(err)})`,
        err,
      );
    }
  }

  private async connect(): Promise<ModbusRTU> {
    if (this.client?.isOpen) return this.client;
    const now = Date.now();
    if (now < this.retryAt)
      throw new DeviceUnreachableError(
        `${this.label} is unreachable (${this.lastError ?? 'not connected'}); next attempt in ${Math.ceil((this.retryAt - now) / 1000)} s`,
        this.lastFailure ?? undefined,
      );
    this.dropClient();
    const c = this.connection;
    const client = new (modbusSerial())();
    const timeout = this.options.connectTimeoutMs ?? c.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const opening =
        c.transport === 'tcp'
          ? client.connectTCP(c.host, { port: c.port, timeout: c.timeoutMs })
          : c.transport === 'rtu-over-tcp'
            ? client.connectTelnet(c.host, { port: c.port, timeout: c.timeoutMs })
            : client.connectRTUBuffered(c.path, {
                baudRate: c.baudRate,
                parity: c.parity,
                dataBits: c.dataBits,
                stopBits: c.stopBits,
              });
      await Promise.race([
        opening,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (err) {
      this.release(client);
      this.fail(err);
      throw new DeviceUnreachableError(`cannot connect to ${this.label}: ${describe(err)}`, err);
    } finally {
      clearTimeout(timer);
    }
    // modbus-serial's default timeout is none: a silent device would hang the link forever.
    client.setTimeout(c.timeoutMs);
    client.on('error', () => undefined);
    if (this.failures > 0 || this.reconnects > 0) this.reconnects += 1;
    else this.reconnects = 0;
    this.failures = 0;
    this.retryAt = 0;
    this.client = client;
    return client;
  }

  private fail(err: unknown): void {
    this.lastError = describe(err);
    this.lastFailure = err;
    this.failures += 1;
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 60_000;
    this.retryAt = Date.now() + Math.min(max, min * 2 ** (this.failures - 1));
  }

  private drop(err: unknown): void {
    this.lastError = describe(err);
    this.dropClient();
  }

  private dropClient(): void {
    if (this.client) this.release(this.client);
    this.client = null;
  }

  /**
   * Let go of a connection for good. A TCP socket is destroyed, not ended: modbus-serial's
   * `close()` only half-closes it, and a device that keeps its side open (many do) would then
   * hold the socket, and the process, open forever. A serial line is closed.
   */
  private release(client: ModbusRTU): void {
    try {
      if (this.connection.transport === 'rtu') client.close(() => undefined);
      else client.destroy(() => undefined);
    } catch {
      // already closed
    }
  }

  /** Read `count` registers (or bits, as 0/1) from a table. */
  read(unitId: number, fn: ModbusFunction, address: number, count: number): Promise<number[]> {
    const what = `read ${fn} ${address}+${count}`;
    return this.run(unitId, what, async (c) => {
      switch (fn) {
        case 'holding':
          return (await c.readHoldingRegisters(address, count)).data;
        case 'input':
          return (await c.readInputRegisters(address, count)).data;
        case 'coil':
          return (await c.readCoils(address, count)).data.slice(0, count).map(Number);
        case 'discrete':
          return (await c.readDiscreteInputs(address, count)).data.slice(0, count).map(Number);
      }
    });
  }

  /** Write registers (FC6 for one, FC16 for more) or one coil (FC5). */
  write(unitId: number, fn: 'holding' | 'coil', address: number, words: number[]): Promise<void> {
    return this.run(unitId, `write ${fn} ${address}`, async (c) => {
      if (fn === 'coil') await c.writeCoil(address, words[0] !== 0);
      else if (words.length === 1) await c.writeRegister(address, words[0]!);
      else await c.writeRegisters(address, words);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    this.dropClient();
  }
}

const describe = describeError;
