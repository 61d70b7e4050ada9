import type { Observable, Subscription } from 'rxjs';
import { type Reading, type WriteFn, writeVerdict } from '../../model/index.js';
import { dispatch } from '../dispatch.js';
import {
  initialLocalResponse,
  type LocalResponseConfig,
  type LocalResponseState,
  stepLocalResponse,
} from '../droop.js';
import {
  baseCommands,
  baseConsumptionKw,
  commandsFor,
  headroomKw,
  type RuntimeAsset,
  toDispatchAsset,
} from './assets.js';
import { activationWindows, type LogEntry, proofSamples } from './proof-log.js';

/** How long a release keeps asking a rate-limited point for its base value, ms. */
const RELEASE_RETRY_MS = 30_000;

export interface DroopRuntimeOptions {
  /** The local products held here (FCR-N, FCR-D up/down, FFR) and the capacity of each, kW. */
  products: LocalResponseConfig[];
  assets: RuntimeAsset[];
  /** The write port (the gateway's safety layer) for the assets' devices. */
  port: { write: WriteFn };
  /** Hub key of the frequency reading (`site/device/point`), Hz. */
  frequencyPoint: string;
  /**
   * Hub key(s) of the site's grid-meter power, W, import positive, logged for the proof. A
   * site of several buildings has a grid meter per building: the metered power is their sum,
   * taken once every meter has been read (one building's meter alone would prove nothing).
   */
  meteredPoint?: string | readonly string[];
  /**
   * Write an asset again only when its share moved by at least this, kW (default 1 % of the
   * capacity held). An asset smaller than 20 steps gets a step of 5 % of its own headroom
   * instead: 1 % of a 100 kW obligation is a whole 1 kW ventilation fan, which would move only
   * all or nothing.
   */
  writeStepKw?: number;
  /** How long the raw log is kept in memory, ms (default 15 min). */
  keepLogMs?: number;
  /**
   * An asset held off its base is written again after this long without a write, ms (default
   * 5 s), like the executor's follow-up: a device's fail-safe watchdog (a BMS setpoint that
   * reverts after 60 s unrefreshed) must not hand it back while the response still needs it.
   */
  refreshMs?: number;
  /**
   * Each log entry as it is made, for a durable copy (`gridflex run` stores it as readings:
   * app/droop.ts `proofReadings`), since the in-memory log ends with the process.
   */
  onLog?: (entry: LogEntry) => void;
  /**
   * The last value read of a point, W: seeds the grid meters and the units' power, so a meter
   * or a fan whose server reports only changes counts from the start, not from its next change.
   */
  lastValue?: (pointKey: string) => number | undefined;
  /** Wall clock for the latency figures only; the response runs on the samples' timestamps. */
  now?: () => number;
}

interface AssetWriter {
  asset: RuntimeAsset;
  /** This asset's write step, kW (`writeStepKw`, or finer for a small asset). */
  stepKw: number;
  target: number;
  written: number;
  /** When the sample that set `target` arrived (latency measurement). */
  receivedMs: number;
  busy: boolean;
  dropped: boolean;
  /** When its last write was accepted (this runtime's clock), for the refresh. */
  writtenAtMs: number;
  /** Write the current share again even though it has not moved (the refresh). */
  refresh: boolean;
  /** Last value written per point: an unchanged point (a battery's mode) is not written again. */
  sent: Map<string, number>;
}

/** One finished write of an asset's share: sample received → every setpoint of the asset written. */
export interface DroopWrite {
  assetId: string;
  kw: number;
  receivedMs: number;
  writtenMs: number;
}

/**
 * The gateway-side frequency response: frequency samples in (from the hub, or `feed` directly),
 * `stepLocalResponse` per product, the sum split over the assets by merit order and written
 * through the safety layer. Writes coalesce: while an asset's write is in flight, newer
 * targets replace each other and only the latest goes out next, so a slow device never builds
 * a queue. Every sample is logged with the metered power for the proof (verify.ts).
 */
export class DroopRuntime {
  private states: LocalResponseState[] = [];
  private readonly writers: AssetWriter[];
  private readonly log: LogEntry[] = [];
  private meteredKw: number | undefined;
  /** Latest kW per grid meter (`meteredPoint`), summed into `meteredKw`. */
  private readonly meters = new Map<string, number>();
  private readonly meterKeys: ReadonlySet<string>;
  /** The held fans' own power points → latest draw, kW (`deliveredKw`); null when some asset has none. */
  private readonly unitKw: Map<string, number> | null;
  private readonly unitBaseKw: number;
  private readonly unitKeys: ReadonlySet<string>;
  private readonly writeStepKw: number;
  private readonly keepLogMs: number;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly durationMs: number;
  private released = false;
  readonly writes: DroopWrite[] = [];
  readonly messages: string[] = [];

  constructor(private readonly options: DroopRuntimeOptions) {
    const capacity = options.products.reduce((a, p) => a + p.capacityKw, 0);
    this.writeStepKw = options.writeStepKw ?? capacity / 100;
    this.keepLogMs = options.keepLogMs ?? 15 * 60_000;
    this.refreshMs = options.refreshMs ?? 5_000;
    this.now = options.now ?? Date.now;
    const metered = options.meteredPoint;
    this.meterKeys = new Set(metered === undefined ? [] : typeof metered === 'string' ? [metered] : metered);
    // The units' own delivery needs a baseline for every one of them: fans at base speed.
    const proven = options.assets.every((a) => a.kind === 'fan' && a.powerPoint !== undefined);
    this.unitKw = proven && options.assets.length > 0 ? new Map() : null;
    this.unitBaseKw = options.assets.reduce((sum, a) => sum + baseConsumptionKw(a), 0);
    this.unitKeys = new Set(
      this.unitKw ? options.assets.map((a) => (a.kind === 'fan' ? a.powerPoint! : '')) : [],
    );
    for (const key of this.meterKeys) {
      const w = options.lastValue?.(key);
      if (w !== undefined) this.meterRead(key, w / 1000);
    }
    for (const key of this.unitKeys) {
      const w = options.lastValue?.(key);
      if (w !== undefined) this.unitKw?.set(key, w / 1000);
    }
    // Assets are chosen for what they can hold for the longest endurance among the products.
    this.durationMs = Math.max(1, ...options.products.map((p) => p.product.minDuration));
    this.writers = options.assets.map((asset) => ({
      asset,
      stepKw: Math.min(
        this.writeStepKw,
        Math.max(headroomKw(asset, 'up'), headroomKw(asset, 'down')) / 20 || this.writeStepKw,
      ),
      target: 0,
      written: 0,
      receivedMs: 0,
      busy: false,
      dropped: false,
      writtenAtMs: 0,
      refresh: false,
      sent: new Map<string, number>(),
    }));
  }

  /** Follow the hub: frequency samples drive the response, metered power is logged. */
  attach(readings$: Observable<Reading>): Subscription {
    return readings$.subscribe((r) => {
      if (r.value === null || r.quality === 'bad') return;
      if (this.meterKeys.has(r.pointId)) this.meterRead(r.pointId, r.value / 1000);
      else if (this.unitKeys.has(r.pointId)) this.unitKw?.set(r.pointId, r.value / 1000);
      else if (r.pointId === this.options.frequencyPoint) this.feed({ tMs: r.ts, hz: r.value });
    });
  }

  /** The units' delivery now, + up (less drawn than at base), once every unit has been read. */
  private delivered(): { deliveredKw?: number } {
    if (!this.unitKw || this.unitKw.size < this.unitKeys.size) return {};
    let drawn = 0;
    for (const v of this.unitKw.values()) drawn += v;
    return { deliveredKw: this.unitBaseKw - drawn };
  }

  private meterRead(key: string, kw: number): void {
    this.meters.set(key, kw);
    if (this.meters.size < this.meterKeys.size) return;
    let sum = 0;
    for (const v of this.meters.values()) sum += v;
    this.meteredKw = sum;
  }

  /** Metered site power, kW (consumption positive), for callers not on the hub. */
  meter(kw: number): void {
    this.meteredKw = kw;
  }

  /**
   * Stop responding and put every asset it moved back on its base operating point (the
   * obligation ended, or the process stops). Resolves when those writes are answered; a
   * refusal is kept in `messages`.
   */
  async release(): Promise<void> {
    this.released = true;
    for (const w of this.writers) w.dropped = true;
    await this.settled();
    for (const w of this.writers) {
      if (w.sent.size === 0) continue;
      for (const c of baseCommands(w.asset)) {
        if (w.sent.get(c.point) === c.value) continue;
        // The response may have written this point a moment ago: a rate limit is waited out
        // (bounded), so the asset is not left a step off its base.
        const until = this.now() + RELEASE_RETRY_MS;
        for (;;) {
          const r = await this.options.port.write({
            site: w.asset.siteId,
            ...c,
            who: 'market',
            why: 'local frequency response ended: back to base',
          });
          const verdict = writeVerdict(r);
          if (verdict === 'ok') w.sent.set(c.point, c.value);
          else if (verdict === 'later' && this.now() < until) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            continue;
          } else this.messages.push(`${w.asset.id}: ${c.point} not restored: ${r.outcome} (${r.reason})`);
          break;
        }
      }
    }
  }

  /** One frequency sample. Returns the response commanded, kW (+ up). */
  feed(sample: { tMs: number; hz: number }): number {
    if (this.released) return 0;
    const receivedMs = this.now();
    const last = this.log.at(-1);
    if (last && sample.tMs <= last.tMs) return last.responseKw;
    if (this.states.length === 0)
      this.states = this.options.products.map(() => initialLocalResponse(sample.tMs));
    this.states = this.options.products.map((p, i) => stepLocalResponse(p, this.states[i]!, sample));
    const responseKw = this.states.reduce((a, s) => a + s.kw, 0);
    this.log.push({
      tMs: sample.tMs,
      hz: sample.hz,
      responseKw,
      active: this.states.some((s) => s.targetKw !== 0),
      ...(this.meteredKw === undefined ? {} : { meteredKw: this.meteredKw }),
      ...this.delivered(),
    });
    while (this.log.length > 0 && this.log[0]!.tMs < sample.tMs - this.keepLogMs) this.log.shift();
    this.options.onLog?.(this.log.at(-1)!);

    const direction = responseKw >= 0 ? 'up' : 'down';
    const sign = direction === 'up' ? 1 : -1;
    const split = dispatch(
      { requestKw: Math.abs(responseKw), durationMs: this.durationMs, withinMs: this.durationMs },
      this.writers.map((w) => toDispatchAsset(w.asset, direction, !w.dropped)),
    );
    const share = new Map(split.allocations.map((a) => [a.id, sign * a.kw]));
    for (const w of this.writers) {
      if (w.dropped) continue;
      const kw = share.get(w.asset.id) ?? 0;
      // Back to exactly zero always goes out, so the assets do not stay a step off their base.
      if (Math.abs(kw - w.target) >= w.stepKw || (kw === 0 && w.target !== 0)) {
        w.target = kw;
        w.receivedMs = receivedMs;
      }
      if (w.written !== 0 && w.target === w.written && receivedMs - w.writtenAtMs >= this.refreshMs) {
        w.refresh = true;
        w.receivedMs = receivedMs;
      }
      if (w.target !== w.written || w.refresh) void this.flush(w);
    }
    return responseKw;
  }

  private async flush(w: AssetWriter): Promise<void> {
    if (w.busy) return;
    w.busy = true;
    try {
      while ((w.target !== w.written || w.refresh) && !w.dropped) {
        const kw = w.target;
        const receivedMs = w.receivedMs;
        const refresh = w.refresh && kw === w.written;
        w.refresh = false;
        let verdict: 'ok' | 'later' | 'dropped' = 'ok';
        for (const c of commandsFor(w.asset, kw).commands) {
          if (!refresh && w.sent.get(c.point) === c.value) continue;
          const r = await this.options.port.write({
            site: w.asset.siteId,
            ...c,
            who: 'market',
            why: `local frequency response ${kw.toFixed(1)} kW`,
          });
          verdict = writeVerdict(r);
          if (verdict === 'ok') w.sent.set(c.point, c.value);
          if (verdict === 'dropped') {
            w.dropped = true;
            this.messages.push(`${w.asset.id} dropped out: ${c.point} ${r.outcome} (${r.reason})`);
          }
          if (verdict !== 'ok') break;
        }
        // Rate-limited: the next sample tries again.
        if (verdict === 'later') return;
        if (verdict === 'ok') {
          w.written = kw;
          w.writtenAtMs = this.now();
          if (refresh) continue;
          this.writes.push({ assetId: w.asset.id, kw, receivedMs, writtenMs: this.now() });
          if (this.writes.length > 10_000) this.writes.shift();
        }
      }
    } finally {
      w.busy = false;
    }
  }

  /** How many frequency samples the log holds. */
  get samplesLogged(): number {
    return this.log.length;
  }

  /** The response commanded now, kW. */
  get responseKw(): number {
    return this.log.at(-1)?.responseKw ?? 0;
  }

  /** Resolves once every asset's latest share is written (or refused). */
  async settled(): Promise<void> {
    while (this.writers.some((w) => w.busy)) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * The proof for each activation still in the log: samples every `stepMs` (the product's
   * measurement resolution, 100 ms for FCR/FFR) from the start to `afterMs` past the end,
   * with the meter-before baseline over `baselineMs`; feed them to `checkFrequencyResponse`.
   */
  proofs(stepMs = 100, baselineMs = 10_000, afterMs = 30_000) {
    return activationWindows(this.log, 0, afterMs).map((w) => ({
      startMs: w.fromMs,
      endMs: w.toMs,
      samples: proofSamples(this.log, w, w.fromMs, stepMs, baselineMs),
    }));
  }
}
