import { isCounter, pointKey, type Quality, type Reading } from '../model/index.js';
import type { GatewayConfig, GatewayPoint, ModbusGatewayDevice } from './config.js';
import { deviceProfile, mappedRegister } from './config.js';
import { applyScaleFactor, decodeRegisters, decodeScaleFactor, REGISTER_COUNT } from './decode.js';
import { DeviceUnreachableError, ModbusExceptionError, type ModbusLink } from './modbus-link.js';
import { planReads, type ReadItem, type ReadRequest, sliceItem } from './planner.js';
import { checkCounter, isFrozen, type Published, scaleValue, shouldPublish } from './quality.js';
import type { Register } from './register-map.js';
import { discoverSunSpec, type SunSpecMap, sunSpecRegister } from './sunspec.js';

/** A configured point bound to its register (or to why it cannot be read). */
export interface BoundPoint {
  point: GatewayPoint;
  key: string;
  register: Register | null;
  error: string | null;
  intervalMs: number;
}

interface PointState {
  last?: { value: number; ts: number };
  lastChangeTs?: number;
  published?: Published;
}

/**
 * One planned read. A refused merged read is `split` into single reads; a transient refusal
 * (device busy or failing) is merged again after `remergeAfter` clean polls, a refusal about
 * the map (exceptions 1–3) is not.
 */
interface Slot {
  merged: ReadRequest<string>;
  split: ReadRequest<string>[] | null;
  permanent: boolean;
  /** Consecutive polls since the split in which every single read succeeded. */
  clean: number;
}

interface Group {
  intervalMs: number;
  points: BoundPoint[];
  slots: Slot[];
  timer: NodeJS.Timeout | null;
  running: boolean;
}

/** Illegal function, data address, data value: the request itself is wrong for this device. */
const PERMANENT_EXCEPTIONS = new Set([1, 2, 3]);

/** Reachability changes of a device (not every poll): `down` with why, or back `up`. */
export type ReachabilityListener = (change: { device: string; up: boolean; reason: string | null }) => void;

export interface PollOutcome {
  /** Every reading of the poll (before the deadband filter). */
  readings: Reading[];
  /** Why readings are bad: one line per failed request or point. */
  errors: string[];
  /** The device could not be reached at all. */
  unreachable: boolean;
}

export interface DeviceStatus {
  device: string;
  protocol: 'modbus' | 'opcua';
  /** The connection: `tcp://host:port`, the serial path, or the OPC UA endpoint URL. */
  link: string;
  state: 'ok' | 'degraded' | 'unreachable' | 'starting';
  polls: number;
  failedPolls: number;
  overruns: number;
  requests: number;
  /** OPC UA: data-change notifications received on the subscription. */
  notifications?: number;
  lastError: string | null;
  sunspec: SunSpecMap | null;
}

const sfKey = (address: number) => `sf:${address}`;
const RAW_MAX: Partial<Record<Register['type'], number>> = {
  uint16: 0x10000,
  uint32: 0x100000000,
  int16: 0x8000,
  int32: 0x80000000,
};

/**
 * Polls one Modbus device: its points are grouped by poll interval, each group's registers
 * planned into merged reads. A merged read the device refuses with an exception is split
 * into single reads, so one bad address in a map costs only its own point; a split caused by
 * a transient exception is undone after `remergeAfter` clean polls.
 */
export class ModbusDevicePoller {
  readonly points: BoundPoint[] = [];
  private readonly groups: Group[] = [];
  private readonly state = new Map<string, PointState>();
  private stats = { polls: 0, failedPolls: 0, overruns: 0, requests: 0 };
  private lastError: string | null = null;
  private lastOutcome: 'ok' | 'degraded' | 'unreachable' | 'starting' = 'starting';
  private sunspec: SunSpecMap | null = null;
  private prepared = false;
  private stopped = false;
  /** Told when the device becomes unreachable and when it answers again (once each). */
  onReachability: ReachabilityListener | null = null;

  constructor(
    private readonly cfg: GatewayConfig,
    readonly device: ModbusGatewayDevice,
    readonly link: ModbusLink,
    private readonly publish: (readings: Reading[]) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  get unitId(): number {
    return this.device.connection.unitId;
  }

  /** Bind points to registers (discovering the SunSpec map first if needed) and plan reads. */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    const d = this.device;
    if (d.profile === 'sunspec') {
      const read = (address: number, count: number) => this.link.read(this.unitId, 'holding', address, count);
      try {
        this.sunspec = await discoverSunSpec(read, d.sunspecBase === undefined ? undefined : [d.sunspecBase]);
      } catch (err) {
        if (err instanceof DeviceUnreachableError) throw err;
        throw new DeviceUnreachableError(`${d.id}: SunSpec discovery failed: ${(err as Error).message}`, err);
      }
      if (!this.sunspec)
        throw new DeviceUnreachableError(`${d.id}: no SunSpec map ("SunS" marker) at 40000, 0 or 50000`);
    }
    const defaultMs = d.pollInterval ?? this.cfg.pollInterval;
    this.points.length = 0;
    for (const p of d.points) {
      let register: Register | null = null;
      let error: string | null = null;
      if (this.sunspec) {
        const r = sunSpecRegister(this.sunspec, typeof p.register === 'string' ? p.register : p.id);
        if ('error' in r) error = r.error;
        else register = r;
        if (typeof p.register === 'object') register = p.register;
      } else register = mappedRegister(this.cfg, d, p);
      if (!register && !error) error = `no register for point ${p.id}`;
      this.points.push({
        point: p,
        key: pointKey(this.cfg.site, d.id, p.id),
        register,
        error,
        intervalMs: p.pollInterval ?? defaultMs,
      });
    }
    const profile = deviceProfile(this.cfg, d);
    const byInterval = new Map<number, BoundPoint[]>();
    for (const bp of this.points)
      byInterval.set(bp.intervalMs, [...(byInterval.get(bp.intervalMs) ?? []), bp]);
    this.groups.length = 0;
    for (const [intervalMs, points] of [...byInterval].sort((a, b) => a[0] - b[0])) {
      const items: ReadItem<string>[] = [];
      for (const bp of points) {
        if (!bp.register) continue;
        const r = bp.register;
        items.push({
          key: bp.point.id,
          function: r.function,
          address: r.address,
          count: REGISTER_COUNT[r.type],
        });
        if (r.scaleFactor !== undefined)
          items.push({ key: sfKey(r.scaleFactor), function: r.function, address: r.scaleFactor, count: 1 });
      }
      const plan = d.oneRequestPerPoint
        ? items.map((item) => ({
            function: item.function,
            address: item.address,
            count: item.count,
            items: [item],
          }))
        : planReads(items, {
            maxRegisters: d.maxRegisters ?? profile?.maxRegisters ?? 125,
            maxGap: d.maxGap ?? profile?.maxGap ?? 16,
            forbidden: profile?.forbidden ?? [],
          });
      const slots = plan.map((merged) => ({ merged, split: null, permanent: false, clean: 0 }));
      this.groups.push({ intervalMs, points, slots, timer: null, running: false });
    }
    this.prepared = true;
  }

  /** The merged reads of each poll group (for diagnostics and the bench). */
  plans(): ReadRequest<string>[][] {
    return this.groups.map((g) => g.slots.flatMap((s) => s.split ?? [s.merged]));
  }

  private setOutcome(state: 'ok' | 'degraded' | 'unreachable'): void {
    const wasDown = this.lastOutcome === 'unreachable';
    this.lastOutcome = state;
    const down = state === 'unreachable';
    if (down !== wasDown)
      this.onReachability?.({ device: this.device.id, up: !down, reason: down ? this.lastError : null });
  }

  status(): DeviceStatus {
    return {
      device: this.device.id,
      protocol: 'modbus',
      link: this.link.label,
      state: this.lastOutcome,
      ...this.stats,
      lastError: this.lastError,
      sunspec: this.sunspec,
    };
  }

  /** Poll every group once (prepare first if needed). Never throws: failures become bad readings. */
  async pollAll(): Promise<PollOutcome> {
    const out: PollOutcome = { readings: [], errors: [], unreachable: false };
    const ready = await this.ensurePrepared();
    if (ready) {
      out.readings.push(...ready.readings);
      out.errors.push(...ready.errors);
      out.unreachable = true;
      return out;
    }
    for (const g of this.groups) {
      const o = await this.pollGroup(g);
      out.readings.push(...o.readings);
      out.errors.push(...o.errors);
      out.unreachable ||= o.unreachable;
    }
    return out;
  }

  /** Null when prepared; else the bad readings that stand for the unprepared device. */
  private async ensurePrepared(): Promise<PollOutcome | null> {
    if (this.prepared) return null;
    try {
      await this.prepare();
      return null;
    } catch (err) {
      const ts = this.clock();
      const message = (err as Error).message;
      this.lastError = message;
      this.stats.failedPolls += 1;
      this.setOutcome('unreachable');
      const readings = this.device.points.map((p) =>
        this.emit(pointKey(this.cfg.site, this.device.id, p.id), ts, null, 'bad'),
      );
      return { readings, errors: [message], unreachable: true };
    }
  }

  private async pollGroup(g: Group): Promise<PollOutcome> {
    const ts = this.clock();
    this.stats.polls += 1;
    const data = new Map<string, number[]>();
    const errors: string[] = [];
    let unreachable = false;
    const fetch = async (req: ReadRequest<string>): Promise<void> => {
      const words = await this.readWithRetries(req);
      for (const item of req.items) data.set(item.key, sliceItem(req, words, item));
    };
    for (const slot of g.slots) {
      if (unreachable) break;
      let fresh = false;
      if (!slot.split) {
        try {
          await fetch(slot.merged);
          continue;
        } catch (err) {
          if (!(err instanceof ModbusExceptionError && slot.merged.items.length > 1)) {
            errors.push(`${this.device.id}: ${(err as Error).message}`);
            if (!(err instanceof ModbusExceptionError)) unreachable = true;
            continue;
          }
          // Find the bad address: read the items one by one, and keep them apart for now.
          slot.split = slot.merged.items.map((item) => ({ ...item, items: [item] }));
          slot.permanent = PERMANENT_EXCEPTIONS.has(err.exceptionCode);
          slot.clean = 0;
          fresh = true;
        }
      }
      let clean = true;
      for (const single of slot.split) {
        if (unreachable) break;
        try {
          await fetch(single);
        } catch (e) {
          clean = false;
          errors.push(`${this.device.id}: ${(e as Error).message}`);
          if (e instanceof DeviceUnreachableError) unreachable = true;
        }
      }
      if (fresh || slot.permanent) continue;
      slot.clean = clean ? slot.clean + 1 : 0;
      // The fault has passed: one request again instead of one per point.
      if (slot.clean >= this.device.remergeAfter) slot.split = null;
    }
    const readings: Reading[] = [];
    for (const bp of g.points) {
      const r = this.decodePoint(bp, data, ts, errors);
      readings.push(r);
    }
    if (errors.length > 0) this.lastError = errors[errors.length - 1]!;
    if (unreachable) this.stats.failedPolls += 1;
    this.setOutcome(unreachable ? 'unreachable' : errors.length > 0 ? 'degraded' : 'ok');
    const publishable = readings.filter((r, idx) => this.admit(g.points[idx]!, r));
    if (publishable.length > 0) this.publish(publishable);
    return { readings, errors, unreachable };
  }

  private async readWithRetries(req: ReadRequest<string>): Promise<number[]> {
    let attempt = 0;
    for (;;) {
      try {
        this.stats.requests += 1;
        return await this.link.read(this.unitId, req.function, req.address, req.count);
      } catch (err) {
        // A refusal is an answer: asking again gives the same answer. A backoff refusal too.
        if (
          err instanceof ModbusExceptionError ||
          attempt >= this.device.retries ||
          this.link.state === 'backoff'
        )
          throw err;
        attempt += 1;
      }
    }
  }

  private decodePoint(bp: BoundPoint, data: Map<string, number[]>, ts: number, errors: string[]): Reading {
    const { point, register: r } = bp;
    if (!r) {
      errors.push(`${this.device.id}/${point.id}: ${bp.error}`);
      return this.emit(bp.key, ts, null, 'bad');
    }
    const words = data.get(point.id);
    if (!words) return this.emit(bp.key, ts, null, 'bad');
    const decoded = decodeRegisters(words, r);
    if (!decoded.ok) {
      errors.push(`${this.device.id}/${point.id}: ${decoded.reason}`);
      return this.emit(bp.key, ts, null, 'bad');
    }
    let value = decoded.value;
    if (r.scaleFactor !== undefined) {
      const sfWords = data.get(sfKey(r.scaleFactor));
      const sf = sfWords?.[0] === undefined ? null : decodeScaleFactor(sfWords[0]);
      if (sf === null) {
        errors.push(
          `${this.device.id}/${point.id}: scale factor at ${r.scaleFactor} is missing or not implemented`,
        );
        return this.emit(bp.key, ts, null, 'bad');
      }
      value = applyScaleFactor(value, sf);
    }
    value = scaleValue(value, r.scale, r.offset);
    let quality: Quality = 'good';
    const st = this.state.get(bp.key) ?? {};
    if (isCounter(point.kind)) {
      const rawMax = RAW_MAX[r.type];
      const check = checkCounter(
        st.last,
        { value, ts },
        {
          maxPowerW: point.maxPowerW,
          rolloverAt:
            rawMax === undefined || r.scaleFactor !== undefined ? undefined : scaleValue(rawMax, r.scale, 0),
        },
      );
      if (check.quality !== 'good') {
        quality = check.quality;
        errors.push(`${this.device.id}/${point.id}: ${check.reason}`);
      }
    }
    if (st.last === undefined || st.last.value !== value) st.lastChangeTs = ts;
    if (quality === 'good' && isFrozen(st.lastChangeTs, ts, point.staleAfter)) quality = 'uncertain';
    st.last = { value, ts };
    this.state.set(bp.key, st);
    return { pointId: bp.key, ts, value, quality };
  }

  private emit(pointId: string, ts: number, value: number | null, quality: Quality): Reading {
    return { pointId, ts, value, quality };
  }

  /** Deadband: remember what was published and let only meaningful changes through. */
  private admit(bp: BoundPoint, r: Reading): boolean {
    const st = this.state.get(bp.key) ?? {};
    this.state.set(bp.key, st);
    const next: Published = { value: r.value, quality: r.quality, ts: r.ts };
    if (!shouldPublish(st.published, next, bp.point.deadband, bp.point.maxSilence)) return false;
    st.published = next;
    return true;
  }

  /**
   * Poll each group on its own timer. A poll still running when the next is due is skipped,
   * counted, and stands as one bad reading per point of the group: nothing was read at that
   * time, and a gap would look like a reading that was lost.
   */
  start(): void {
    this.stopped = false;
    const loop = async () => {
      const bad = await this.ensurePrepared();
      if (bad) {
        this.publish(bad.readings);
        if (!this.stopped) this.startTimer = setTimeout(loop, this.retryDelay());
        return;
      }
      for (const g of this.groups) this.schedule(g);
    };
    void loop();
  }

  private startTimer: NodeJS.Timeout | null = null;

  private retryDelay(): number {
    return Math.min(
      ...this.device.points.map((p) => p.pollInterval ?? this.device.pollInterval ?? this.cfg.pollInterval),
    );
  }

  private schedule(g: Group): void {
    const tick = () => {
      if (this.stopped) return;
      if (g.running) {
        this.stats.overruns += 1;
        const ts = this.clock();
        const bad = g.points
          .map((bp) => this.emit(bp.key, ts, null, 'bad'))
          .filter((r, idx) => this.admit(g.points[idx]!, r));
        if (bad.length > 0) this.publish(bad);
      } else {
        g.running = true;
        void this.pollGroup(g).finally(() => {
          g.running = false;
        });
      }
    };
    tick();
    g.timer = setInterval(tick, g.intervalMs);
  }

  /** Wait for running polls to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    for (const g of this.groups) if (g.timer) clearInterval(g.timer);
    while (this.groups.some((g) => g.running)) await new Promise((r) => setTimeout(r, 10));
  }

  /** Read one point now (the safety layer's old value and read-back). */
  async readPoint(pointId: string): Promise<{ value: number | null; reason?: string }> {
    await this.prepare();
    const bp = this.points.find((p) => p.point.id === pointId);
    if (!bp?.register) return { value: null, reason: bp?.error ?? `no point ${pointId}` };
    const r = bp.register;
    const words = await this.link.read(this.unitId, r.function, r.address, REGISTER_COUNT[r.type]);
    const d = decodeRegisters(words, r);
    if (!d.ok) return { value: null, reason: d.reason };
    let v = d.value;
    if (r.scaleFactor !== undefined) {
      const sf = await this.scaleFactorOf(r);
      if (sf === null) return { value: null, reason: 'scale factor not implemented' };
      v = applyScaleFactor(v, sf);
    }
    return { value: scaleValue(v, r.scale, r.offset) };
  }

  async scaleFactorOf(r: Register): Promise<number | null> {
    if (r.scaleFactor === undefined) return 0;
    const [w] = await this.link.read(this.unitId, r.function, r.scaleFactor, 1);
    return w === undefined ? null : decodeScaleFactor(w);
  }

  boundPoint(pointId: string): BoundPoint | undefined {
    return this.points.find((p) => p.point.id === pointId);
  }
}
