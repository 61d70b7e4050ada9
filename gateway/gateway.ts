import { appendFile } from 'node:fs/promises';
import type { Reading, WritePort } from '../model/index.js';
import type { Hub } from '../stream/index.js';
import type { GatewayConfig, GatewayPoint, ModbusGatewayDevice } from './config.js';
import { applyScaleFactor, encodeRegisters } from './decode.js';
import {
  type DeviceStatus,
  ModbusDevicePoller,
  type PollOutcome,
  type ReachabilityListener,
} from './modbus-device.js';
import { type LinkOptions, ModbusExceptionError, ModbusLink } from './modbus-link.js';
import { type NodeWrite, type OpcUaClientOptions, OpcUaDevice } from './opcua-device.js';
import { decideWrite, verified, type WriteRecord, type WriteRefusal, type WriteRequest } from './safety.js';
import type { WriteLog } from './write-log.js';

/** A record from what the write path knows; the request's fields and the refusal code are filled in. */
type RecordFn = (
  r: Omit<WriteRecord, 'ts' | 'site' | 'device' | 'point' | 'who' | 'why' | 'requested' | 'refusal'> & {
    refusal?: WriteRefusal;
  },
) => WriteRecord;

declare module '../stream/hub.js' {
  interface HubTopics {
    /** Every write the gateway made or refused (the safety layer's audit trail). */
    writes: WriteRecord;
  }
}

/** A device went down or came back: `warn` for down, `info` for back, one line each (not per poll). */
export type GatewayLog = (
  level: 'warn' | 'info',
  line: string,
  change: { device: string; up: boolean; reason: string | null },
) => void;

const LOG_LEVELS: Record<string, number> = {
  silent: 0,
  fatal: 1,
  error: 2,
  warn: 3,
  info: 4,
  debug: 5,
  trace: 6,
};

/** The default log: `gridflex: …` lines on stderr, at most `LOG_LEVEL` (default info). */
export const stderrLog: GatewayLog = (level, line) => {
  const max = LOG_LEVELS[process.env.LOG_LEVEL?.toLowerCase() ?? 'info'] ?? LOG_LEVELS.info!;
  if (LOG_LEVELS[level]! <= max) process.stderr.write(`gridflex: ${line}\n`);
};

export interface GatewayOptions {
  link?: LinkOptions;
  opcua?: OpcUaClientOptions;
  /** Append every write record to this JSON-lines file as well. */
  auditFile?: string;
  /**
   * Store every write record here (the `setpoint_writes` table). The rate limiter starts from
   * the last stored writes, so a restart does not let a burst through.
   */
  writeLog?: WriteLog;
  clock?: () => number;
  /**
   * Where the running gateway (`start()`) says that a device went down and came back; default
   * `stderrLog`. `pollOnce()` alone reports through its outcome instead.
   */
  log?: GatewayLog;
}

/**
 * The edge gateway: one poller per device, one link per physical connection (devices behind
 * the same TCP gateway or RTU converter share it and take turns), readings to the hub, and
 * writes only through the safety layer.
 */
export class Gateway implements WritePort {
  readonly pollers: ModbusDevicePoller[] = [];
  readonly opcuaDevices: OpcUaDevice[] = [];
  private readonly opcuaRetries = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly links = new Map<string, ModbusLink>();
  private readonly lastWrite = new Map<string, number>();
  /** The tail of each point's write queue: writes to one point run one at a time, in order. */
  private readonly writeQueues = new Map<string, Promise<unknown>>();
  private readonly heartbeats: NodeJS.Timeout[] = [];
  private heartbeatCount = 0;
  private audit: Promise<void> = Promise.resolve();
  private auditFailure: Error | null = null;
  /** Records the write log has not taken yet (store down), oldest first; retried before each new one. */
  private readonly unlogged: WriteRecord[] = [];
  private logFailure: Error | null = null;
  private rateLimitsRestored: Promise<void> | null = null;
  private readonly clock: () => number;
  readonly records: WriteRecord[] = [];

  constructor(
    readonly cfg: GatewayConfig,
    private readonly hub: Hub,
    private readonly options: GatewayOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    for (const d of cfg.devices) {
      if (d.protocol === 'opcua') {
        this.opcuaDevices.push(
          new OpcUaDevice(cfg, d, (batch) => this.hub.publishReadings(batch), options.opcua, this.clock),
        );
        continue;
      }
      const c = d.connection;
      const key = c.transport === 'rtu' ? `rtu:${c.path}` : `${c.transport}://${c.host}:${c.port}`;
      let link = this.links.get(key);
      if (!link) {
        link = new ModbusLink(c, options.link);
        this.links.set(key, link);
      }
      this.pollers.push(
        new ModbusDevicePoller(cfg, d, link, (batch) => this.hub.publishReadings(batch), this.clock),
      );
    }
  }

  /** Poll every device once, devices on different links concurrently. */
  async pollOnce(): Promise<PollOutcome> {
    const outcomes = await Promise.all([
      ...this.pollers.map((p) => p.pollAll()),
      ...this.opcuaDevices.map((d) => d.pollAll()),
    ]);
    return {
      readings: outcomes.flatMap((o) => o.readings),
      errors: outcomes.flatMap((o) => o.errors),
      unreachable: outcomes.some((o) => o.unreachable),
    };
  }

  /** Poll continuously and start heartbeat writes. */
  start(): void {
    const log = this.options.log ?? stderrLog;
    const say: ReachabilityListener = (change) => {
      if (change.up) return log('info', `device ${change.device} is back`, change);
      const reason = (change.reason ?? 'no answer').replace(`${change.device}: `, '');
      log('warn', `device ${change.device} is down: ${reason}`, change);
    };
    for (const p of this.pollers) p.onReachability = say;
    for (const d of this.opcuaDevices) d.onReachability = say;
    for (const p of this.pollers) p.start();
    for (const d of this.opcuaDevices) {
      d.watch();
      void this.startOpcUa(d, 1000);
    }
    for (const p of this.pollers) {
      const hb = p.device.heartbeat;
      if (!hb) continue;
      const timer = setInterval(() => void this.heartbeat(p.device, hb.point), hb.interval);
      this.heartbeats.push(timer);
    }
  }

  /**
   * The first connect may fail (server not up yet): retry with backoff; node-opcua reconnects
   * after that. Meanwhile the device's outage watch gives its points bad readings.
   */
  private async startOpcUa(d: OpcUaDevice, delayMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      await d.start();
    } catch (err) {
      d.markDown((err as Error).message);
      await d.close();
      if (this.stopped) return;
      const retry = setTimeout(() => {
        this.opcuaRetries.delete(retry);
        void this.startOpcUa(d, Math.min(delayMs * 2, 60_000));
      }, delayMs);
      this.opcuaRetries.add(retry);
    }
  }

  private async heartbeat(d: ModbusGatewayDevice, pointId: string): Promise<void> {
    const point = d.points.find((p) => p.id === pointId)!;
    const span = point.max! - point.min! + 1;
    this.heartbeatCount += 1;
    const value = point.min! + (this.heartbeatCount % span);
    await this.write({
      device: d.id,
      point: pointId,
      value,
      who: 'gateway',
      why: 'heartbeat for the device watchdog',
    });
  }

  /** Every device's connection state and counters, Modbus and OPC UA alike. */
  status(): DeviceStatus[] {
    return [...this.pollers.map((p) => p.status()), ...this.opcuaDevices.map((d) => d.status())];
  }

  /**
   * Write a setpoint through the safety layer: allow-list, limits, rate limit, then old value,
   * write, read-back. A device refusal (Modbus exception) is reported as `rejected` and never
   * retried; every outcome is recorded, published on the hub's `writes` topic and returned.
   *
   * Writes to one point are serialised: each is decided (clock read, rate limit checked) only
   * after the previous one has been sent and read back, so two callers a few milliseconds
   * apart cannot both pass the rate limit, and a read-back is never of another caller's value.
   * Writes to different points still run concurrently (each link takes turns on the wire).
   */
  write(req: WriteRequest): Promise<WriteRecord> {
    return this.serialised([req], () => this.writeNow(req));
  }

  /**
   * Several writes through the same safety layer as `write`, one record per request in request
   * order (each published and logged as `write` does, in that order, once the batch is done).
   * Each request is decided on its own (allow-list, limits, rate limit); the allowed ones to
   * an OPC UA device go out together: one Read of the old values, one Write, one Read back
   * (split only where the server's operation limits ask). Modbus requests take the
   * single-write path. A point named twice is written twice, the second after the first, as
   * two `write` calls would.
   *
   * A batch holds the write queue of every point it names, so a `write` to one of them runs
   * before or after the whole batch, never between its decision and its read-back.
   */
  writeMany(reqs: WriteRequest[]): Promise<WriteRecord[]> {
    if (reqs.length === 0) return Promise.resolve([]);
    return this.serialised(reqs, async () => {
      const out: WriteRecord[] = new Array(reqs.length);
      // Rounds in which each point appears once; a repeat waits for the round before it.
      const rounds: number[][] = [];
      const seen = new Map<string, number>();
      reqs.forEach((r, i) => {
        const key = `${r.device}/${r.point}`;
        const n = seen.get(key) ?? 0;
        seen.set(key, n + 1);
        if (n === rounds.length) rounds.push([]);
        rounds[n]!.push(i);
      });
      for (const round of rounds) await this.writeRound(reqs, round, out);
      return out.map((r) => this.record(r));
    });
  }

  /**
   * Run `task` once every earlier write to the requests' points is done; later writes to any of
   * them wait for it. Writes to one point thus run one at a time, in call order.
   */
  private serialised<T>(reqs: readonly WriteRequest[], task: () => Promise<T>): Promise<T> {
    const keys = [...new Set(reqs.map((r) => `${r.device}/${r.point}`))];
    const run = Promise.all(keys.map((k) => this.writeQueues.get(k))).then(task);
    const tail = run.catch(() => undefined);
    for (const k of keys) this.writeQueues.set(k, tail);
    void tail.then(() => {
      for (const k of keys) if (this.writeQueues.get(k) === tail) this.writeQueues.delete(k);
    });
    return run;
  }

  /** One round of a batch (each point at most once): `out[i]` gets request i's record, not yet published. */
  private async writeRound(
    reqs: readonly WriteRequest[],
    round: number[],
    out: WriteRecord[],
  ): Promise<void> {
    const hold = (i: number) => (r: WriteRecord) => {
      out[i] = r;
      return r;
    };
    const restored = await this.restoreRateLimits().then(
      () => null,
      (err: Error) => err,
    );
    const now = this.clock();
    const batches = new Map<OpcUaDevice, { req: WriteRequest; record: RecordFn }[]>();
    const singles: number[] = [];
    for (const i of round) {
      const req = reqs[i]!;
      const ua = this.opcuaDevices.find((d) => d.device.id === req.device);
      if (!ua) {
        singles.push(i);
        continue;
      }
      const record = this.recorder(req, now, hold(i));
      if (this.refusedBeforeDevice(req, restored, record)) continue;
      const batch = batches.get(ua) ?? [];
      if (batch.length === 0) batches.set(ua, batch);
      batch.push({ req, record });
    }
    await Promise.all([
      ...[...batches].map(([d, batch]) => this.writeOpcUaBatch(d, batch, now)),
      ...singles.map((i) => this.writeNow(reqs[i]!, hold(i))),
    ]);
  }

  /** The record function of one request decided at `now`; `emit` publishes the record (or holds it for a batch). */
  private recorder(req: WriteRequest, now: number, emit: (r: WriteRecord) => WriteRecord): RecordFn {
    const base = {
      ts: now,
      site: this.cfg.site,
      device: req.device,
      point: req.point,
      who: req.who,
      why: req.why,
      requested: req.value,
    };
    return (r) =>
      emit({ ...base, ...r, refusal: r.outcome === 'refused' ? (r.refusal ?? 'unsupported') : null });
  }

  /** Refusals before any device is looked at (another site, rate limits not restored); recorded when they apply. */
  private refusedBeforeDevice(
    req: WriteRequest,
    restored: Error | null,
    record: RecordFn,
  ): WriteRecord | null {
    const empty = { value: null, clamped: false, old: null, readBack: null };
    if (req.site !== undefined && req.site !== this.cfg.site)
      return record({
        ...empty,
        outcome: 'refused',
        refusal: 'no_such_device',
        reason: `this gateway serves site ${this.cfg.site}, not ${req.site}`,
      });
    if (restored)
      return record({
        ...empty,
        outcome: 'refused',
        refusal: 'rate_limit_unknown',
        reason: `cannot check the rate limit against the stored writes: ${restored.message}`,
      });
    return null;
  }

  private async writeNow(
    req: WriteRequest,
    emit: (r: WriteRecord) => WriteRecord = (r) => this.record(r),
  ): Promise<WriteRecord> {
    const restored = await this.restoreRateLimits().then(
      () => null,
      (err: Error) => err,
    );
    const now = this.clock();
    const poller = this.pollers.find((p) => p.device.id === req.device);
    const point = poller?.device.points.find((p) => p.id === req.point);
    const record = this.recorder(req, now, emit);
    const empty = { value: null, clamped: false, old: null, readBack: null };
    const early = this.refusedBeforeDevice(req, restored, record);
    if (early) return early;
    const ua = this.opcuaDevices.find((d) => d.device.id === req.device);
    if (ua) return this.writeOpcUa(ua, req, now, record);
    if (!poller)
      return record({
        ...empty,
        outcome: 'refused',
        refusal: 'no_such_device',
        reason: `no device ${req.device} in this gateway`,
      });
    const lastKey = `${req.device}/${req.point}`;
    const decision = decideWrite(point, req.value, now, this.lastWrite.get(lastKey));
    if (!decision.allow)
      return record({ ...empty, outcome: 'refused', refusal: decision.refusal, reason: decision.reason });
    const bp = poller.boundPoint(req.point);
    try {
      await poller.prepare();
    } catch (err) {
      return record({ ...empty, outcome: 'failed', reason: (err as Error).message });
    }
    const r = poller.boundPoint(req.point)?.register ?? bp?.register;
    if (!r?.writable || (r.function !== 'holding' && r.function !== 'coil'))
      return record({
        ...empty,
        outcome: 'refused',
        refusal: 'not_writable',
        reason: `the register of ${req.point} is not writable`,
      });
    const sent = { value: decision.value, clamped: decision.clamped };
    let old: number | null = null;
    try {
      old = (await poller.readPoint(req.point)).value;
      const unsupported = (reason: string) =>
        record({ ...sent, old, readBack: null, outcome: 'refused', refusal: 'unsupported', reason });
      const sf = await poller.scaleFactorOf(r);
      if (sf === null) return unsupported('scale factor not implemented');
      const unscaled = (decision.value - r.offset) / r.scale;
      const raw = r.type.startsWith('float')
        ? applyScaleFactor(unscaled, -sf)
        : Math.round(applyScaleFactor(unscaled, -sf));
      const enc = encodeRegisters(raw, r);
      if (!enc.ok) return unsupported(enc.reason);
      this.lastWrite.set(lastKey, now);
      await poller.link.write(poller.unitId, r.function, r.address, enc.words);
    } catch (err) {
      const rejected = err instanceof ModbusExceptionError;
      return record({
        ...sent,
        old,
        readBack: null,
        outcome: rejected ? 'rejected' : 'failed',
        reason: (err as Error).message,
      });
    }
    let readBack: number | null = null;
    try {
      readBack = (await poller.readPoint(req.point)).value;
    } catch (err) {
      return record({
        ...sent,
        old,
        readBack,
        outcome: 'unverified',
        reason: `read-back failed: ${(err as Error).message}`,
      });
    }
    // A scaled integer register cannot hold finer steps than its scale.
    const resolution = r.type.startsWith('float') ? 0 : Math.abs(r.scale) / 2;
    const ok = verified(decision.value, readBack, Math.max(point!.verifyTolerance, resolution));
    return record({
      ...sent,
      old,
      readBack,
      outcome: ok ? 'written' : 'unverified',
      reason: ok
        ? decision.clamped
          ? `clamped to ${decision.value}`
          : null
        : `read back ${readBack}, expected ${decision.value}`,
    });
  }

  private async writeOpcUa(
    d: OpcUaDevice,
    req: WriteRequest,
    now: number,
    record: RecordFn,
  ): Promise<WriteRecord> {
    const point = d.device.points.find((p) => p.id === req.point);
    const lastKey = `${req.device}/${req.point}`;
    const decision = decideWrite(point, req.value, now, this.lastWrite.get(lastKey));
    const empty = { value: null, clamped: false, old: null, readBack: null };
    if (!decision.allow)
      return record({ ...empty, outcome: 'refused', refusal: decision.refusal, reason: decision.reason });
    const sent = { value: decision.value, clamped: decision.clamped };
    let old: number | null = null;
    try {
      old = await d.readPoint(req.point);
      this.lastWrite.set(lastKey, now);
      const bad = await d.writePoint(req.point, decision.value);
      if (bad)
        return record({
          ...sent,
          old,
          readBack: null,
          outcome: 'rejected',
          reason: `server answered ${bad}`,
        });
      const readBack = await d.readPoint(req.point);
      const ok = verified(decision.value, readBack, point!.verifyTolerance);
      return record({
        ...sent,
        old,
        readBack,
        outcome: ok ? 'written' : 'unverified',
        reason: ok ? null : `read back ${readBack}, expected ${decision.value}`,
      });
    } catch (err) {
      return record({ ...sent, old, readBack: null, outcome: 'failed', reason: (err as Error).message });
    }
  }

  /**
   * Allowed writes to one OPC UA device together, with the outcomes `writeOpcUa` gives one by
   * one: a node's bad status rejects that point only; a failed Read or Write (session gone)
   * fails every point of the call. Refusals are recorded and not sent.
   */
  private async writeOpcUaBatch(
    d: OpcUaDevice,
    batch: { req: WriteRequest; record: RecordFn }[],
    now: number,
  ): Promise<void> {
    const empty = { value: null, clamped: false, old: null, readBack: null };
    const allowed: {
      req: WriteRequest;
      record: RecordFn;
      point: GatewayPoint;
      value: number;
      clamped: boolean;
    }[] = [];
    for (const { req, record } of batch) {
      const point = d.device.points.find((p) => p.id === req.point);
      const decision = decideWrite(point, req.value, now, this.lastWrite.get(`${req.device}/${req.point}`));
      if (!decision.allow)
        record({ ...empty, outcome: 'refused', refusal: decision.refusal, reason: decision.reason });
      else allowed.push({ req, record, point: point!, value: decision.value, clamped: decision.clamped });
    }
    if (allowed.length === 0) return;
    let size: number;
    try {
      size = await d.maxNodesPerCall();
    } catch (err) {
      for (const a of allowed)
        a.record({
          value: a.value,
          clamped: a.clamped,
          old: null,
          readBack: null,
          outcome: 'failed',
          reason: (err as Error).message,
        });
      return;
    }
    for (let from = 0; from < allowed.length; from += size) {
      const call = allowed.slice(from, from + size);
      const ids = call.map((a) => a.req.point);
      const sent = (a: (typeof call)[number]) => ({ value: a.value, clamped: a.clamped });
      let old: (number | null)[] = call.map(() => null);
      let answers: NodeWrite[];
      try {
        old = await d.readPoints(ids);
        for (const a of call) this.lastWrite.set(`${a.req.device}/${a.req.point}`, now);
        answers = await d.writePoints(call.map((a) => ({ pointId: a.req.point, value: a.value })));
      } catch (err) {
        call.forEach((a, i) => {
          a.record({
            ...sent(a),
            old: old[i]!,
            readBack: null,
            outcome: 'failed',
            reason: (err as Error).message,
          });
        });
        continue;
      }
      const taken = call.flatMap((a, i) => {
        const answer = answers[i]!;
        if (!answer.sent)
          a.record({ ...sent(a), old: old[i]!, readBack: null, outcome: 'failed', reason: answer.reason });
        else if (answer.bad)
          a.record({
            ...sent(a),
            old: old[i]!,
            readBack: null,
            outcome: 'rejected',
            reason: `server answered ${answer.bad}`,
          });
        else return [{ a, old: old[i]! }];
        return [];
      });
      if (taken.length === 0) continue;
      let readBack: (number | null)[];
      try {
        readBack = await d.readPoints(taken.map((t) => t.a.req.point));
      } catch (err) {
        for (const { a, old } of taken)
          a.record({ ...sent(a), old, readBack: null, outcome: 'failed', reason: (err as Error).message });
        continue;
      }
      taken.forEach(({ a, old }, i) => {
        const back = readBack[i]!;
        const ok = verified(a.value, back, a.point.verifyTolerance);
        a.record({
          ...sent(a),
          old,
          readBack: back,
          outcome: ok ? 'written' : 'unverified',
          reason: ok ? null : `read back ${back}, expected ${a.value}`,
        });
      });
    }
  }

  /**
   * Seed the rate limiter from the write log, once. A failure is not remembered: the next
   * write tries again, and until one succeeds writes are refused (no audit, no write).
   */
  private restoreRateLimits(): Promise<void> {
    const log = this.options.writeLog;
    if (!log) return Promise.resolve();
    this.rateLimitsRestored ??= log.lastSent(this.cfg.site).then(
      (last) => {
        for (const [key, ts] of last) this.lastWrite.set(key, Math.max(ts, this.lastWrite.get(key) ?? ts));
      },
      (err: Error) => {
        this.rateLimitsRestored = null;
        throw err;
      },
    );
    return this.rateLimitsRestored;
  }

  private record(r: WriteRecord): WriteRecord {
    this.records.push(r);
    this.hub.publish('writes', r);
    const file = this.options.auditFile;
    const log = this.options.writeLog;
    if (file || log)
      // In order, one at a time; a failure is kept for flushAudit() and does not stop later records.
      this.audit = this.audit.then(async () => {
        if (file)
          try {
            await appendFile(file, `${JSON.stringify(r)}\n`);
          } catch (err) {
            this.auditFailure ??= err as Error;
          }
        if (log) {
          this.unlogged.push(r);
          await this.drainLog(log);
        }
      });
    return r;
  }

  /** Hand the write log every record it has not taken yet, in order; stop at the first failure. */
  private async drainLog(log: WriteLog): Promise<void> {
    while (this.unlogged.length > 0) {
      try {
        await log.append(this.unlogged[0]!);
      } catch (err) {
        this.logFailure = err as Error;
        return;
      }
      this.unlogged.shift();
    }
    this.logFailure = null;
  }

  /**
   * Resolves once every record is in the audit file and the write log (records the log refused
   * earlier are tried once more); rejects with the first audit-file failure since the last
   * flush, or when records are still not in the write log (they stay queued for the next try,
   * and are on the hub and in `records`).
   */
  async flushAudit(): Promise<void> {
    const log = this.options.writeLog;
    if (log) this.audit = this.audit.then(() => this.drainLog(log));
    await this.audit;
    const failure = this.auditFailure;
    this.auditFailure = null;
    if (failure) throw failure;
    if (this.unlogged.length > 0)
      throw new Error(
        `${this.unlogged.length} write records are not in the write log yet: ${this.logFailure?.message}`,
      );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.opcuaRetries) clearTimeout(t);
    this.opcuaRetries.clear();
    await Promise.all(this.opcuaDevices.map((d) => d.stop()));
    for (const t of this.heartbeats) clearInterval(t);
    await Promise.all(this.pollers.map((p) => p.stop()));
    await Promise.all([...this.links.values()].map((l) => l.close()));
    await this.audit;
  }
}

export type { Reading };
