import { type WriteFn, type WriteManyFn, type WriteResult, writeVerdict } from '../../model/index.js';
import type { ActivationPlan } from '../activation.js';
import { type Allocation, dispatch, restoreSchedule } from '../dispatch.js';
import type { ActivationExecutor, ExecutionStatus, HeldAsset, SiteExecution } from '../executor.js';
import {
  baseCommands,
  commandsFor,
  owedKwh,
  type RuntimeAsset,
  type SetpointCommand,
  toDispatchAsset,
} from './assets.js';
import { KeyedLimiter } from './limiter.js';

/** One site as the executor drives it: its gateway and the assets the market may move. */
export interface ExecutorSite {
  siteId: string;
  /**
   * The write port (the gateway's safety layer) for this site's devices. With `writeMany`, the
   * one-setpoint assets (fans, heat pumps) of a device are written as one batch.
   */
  port: { write: WriteFn; writeMany?: WriteManyFn };
  /**
   * The assets the market may move: a list, or a function evaluated when an activation starts
   * (so a battery's stored energy is the latest measured, not a start-up snapshot).
   */
  assets: RuntimeAsset[] | (() => RuntimeAsset[]);
  /** Import limit of the grid connection, kW: the restore never plans above it. */
  gridImportLimitKw: number;
  /** Cap on all restoring together, kW (absent: the grid limit alone). */
  maxReboundKw?: number;
  /** Latest measured import at the grid meter, kW; the restore plans on top of it. */
  siteImportKw?: () => number | undefined;
}

export interface GatewayExecutorOptions {
  sites: ExecutorSite[];
  /** The activation clock (the plan's times are on it), ms since epoch. */
  now: () => number;
  /**
   * Real milliseconds between follow-ups: every active setpoint is written again (which also
   * refreshes the devices' fail-safe watchdogs, so keep it below their timeout), refusals are
   * re-dispatched, the end time is checked and the restore stepped.
   */
  followUpMs?: number;
  /** Restore slot length on the activation clock (default 1 min) and how many (default 60). */
  restoreSlotMs?: number;
  restoreSlots?: number;
  /**
   * Writes in flight at once, per device connection and per building (defaults
   * `WRITE_CONCURRENCY`): different devices are written in parallel, so reaching every
   * setpoint takes as long as the slowest building, not the sum over assets.
   */
  writeConcurrency?: { perDevice?: number; perBuilding?: number };
  /** How long a release (clean stop) keeps retrying returns the rate limit holds back, real ms (default 15 s). */
  releaseWaitMs?: number;
}

/**
 * Default bounds on parallel writes. Per device: enough to keep one OPC UA session or Modbus
 * TCP link busy (each write is read-old, write, read-back) without a deep queue; 8 measured
 * faster than 32 and than unbounded on one 125-fan BMS session (bench/market.ts, market
 * README). Per building: what one building's bus and BMS take.
 */
export const WRITE_CONCURRENCY = { perDevice: 8, perBuilding: 64 };

interface SiteRun {
  site: ExecutorSite | undefined;
  /** The site's assets as they were when the activation started. */
  assets: RuntimeAsset[];
  exec: SiteExecution;
  allocations: Allocation[];
  offline: Set<string>;
  deliveredKwh: Map<string, number>;
  restore?: ReturnType<typeof restoreSchedule>;
  /** Assets whose return to base was rate-limited: written again at every follow-up until taken. */
  pendingBase: Set<string>;
  /** Assets that took at least one write of this activation (only those are put back when they drop out). */
  moved: Set<string>;
  /** Last value each `device/point` took in this activation. */
  taken: Map<string, number>;
  /** Dropped assets whose return to base the rate limit held back: tried again at each follow-up. */
  pendingRelease: Map<string, string>;
}

interface Run {
  plan: ActivationPlan;
  status: ExecutionStatus;
  sites: SiteRun[];
  lastMs: number;
  timer?: NodeJS.Timeout;
  busy: boolean;
}

const WHO = 'market';

/** The asset with its stored base (a battery's power before the activation), when there is one. */
function withBase(asset: RuntimeAsset, baseKw: number | undefined): RuntimeAsset {
  return asset.kind === 'battery' && baseKw !== undefined ? { ...asset, baseKw } : asset;
}

/**
 * `ActivationExecutor` over gateways: each site's kW is split by merit order (dispatch.ts)
 * over its assets, written through the gateway's safety layer, followed up (a write the device
 * or the safety layer refuses drops the asset and its part goes to the others), and at the end
 * the energy owed is put back by `restoreSchedule` under the grid import limit.
 */
export class GatewayExecutor implements ActivationExecutor {
  private readonly runs = new Map<string, Run>();
  private readonly sites: Map<string, ExecutorSite>;
  private readonly followUpMs: number;
  private readonly slotMs: number;
  private readonly slots: number;
  private readonly limiter: KeyedLimiter;

  constructor(private readonly options: GatewayExecutorOptions) {
    this.sites = new Map(options.sites.map((s) => [s.siteId, s]));
    const perDevice = options.writeConcurrency?.perDevice ?? WRITE_CONCURRENCY.perDevice;
    const perBuilding = options.writeConcurrency?.perBuilding ?? WRITE_CONCURRENCY.perBuilding;
    this.limiter = new KeyedLimiter((key) => (key.startsWith('b:') ? perBuilding : perDevice));
    this.followUpMs = options.followUpMs ?? 10_000;
    this.slotMs = options.restoreSlotMs ?? 60_000;
    this.slots = options.restoreSlots ?? 60;
  }

  async start(plan: ActivationPlan, resume?: readonly HeldAsset[]): Promise<ExecutionStatus> {
    const existing = this.runs.get(plan.id);
    if (existing) return this.snapshot(existing);
    const now = this.options.now();
    const held = this.heldDevices();
    const bases = new Map((resume ?? []).map((h) => [`${h.siteId}/${h.assetId}`, h.baseKw]));
    const run: Run = {
      plan,
      lastMs: now,
      busy: true,
      status: { activationId: plan.id, state: 'dispatching', sites: [], updatedMs: now },
      sites: plan.sites.map((s) => {
        const site = this.sites.get(s.siteId);
        const all = (site ? (typeof site.assets === 'function' ? site.assets() : site.assets) : []).map((a) =>
          withBase(a, bases.get(`${a.siteId}/${a.id}`)),
        );
        // One activation per device: a device another activation holds (until its restore is
        // done) is left out, so no activation's write or restore ever undoes another's setpoint.
        const assets = all.filter((a) => !held.has(`${a.siteId}/${a.device}`));
        const messages = !site
          ? [`site ${s.siteId} has no gateway in this executor`]
          : all.length === 0
            ? [`no asset of ${s.siteId} can be moved by the market now (none bound, polled and measured)`]
            : [];
        for (const a of all) {
          const by = held.get(`${a.siteId}/${a.device}`);
          if (by) messages.push(`${a.id} left out: held by activation ${by}`);
        }
        return {
          site,
          assets,
          allocations: [],
          offline: new Set<string>(),
          deliveredKwh: new Map<string, number>(),
          pendingBase: new Set<string>(),
          moved: new Set<string>(),
          taken: new Map<string, number>(),
          pendingRelease: new Map<string, string>(),
          exec: {
            siteId: s.siteId,
            requestedKw: s.kw,
            dispatchedKw: 0,
            shortfallKw: s.kw,
            setpointsWritten: 0,
            setpointsRefused: 0,
            messages,
          },
        };
      }),
    };
    run.status.sites = run.sites.map((s) => s.exec);
    this.runs.set(plan.id, run);
    await Promise.all(run.sites.map((s) => this.dispatchSite(run, s)));
    const failed = run.sites.every((s) => s.exec.dispatchedKw <= 0);
    run.status.state = failed ? 'failed' : 'active';
    run.status.updatedMs = this.options.now();
    run.busy = false;
    if (!failed) run.timer = setInterval(() => void this.followUp(run), this.followUpMs);
    return this.snapshot(run);
  }

  async stop(activationId: string, reason: string): Promise<ExecutionStatus> {
    const run = this.runs.get(activationId);
    if (!run) throw new Error(`no activation ${activationId} in this executor`);
    if (run.status.state === 'active' || run.status.state === 'dispatching')
      await this.beginRestore(run, reason);
    return this.snapshot(run);
  }

  status(activationId: string): ExecutionStatus | undefined {
    const run = this.runs.get(activationId);
    return run && this.snapshot(run);
  }

  /**
   * A clean stop: every device the activation moved goes back to its base now (a return the
   * rate limit holds back is tried once more), no energy is restored, and the run is done.
   */
  async release(activationId: string, reason: string): Promise<ExecutionStatus> {
    const run = this.runs.get(activationId);
    if (!run) throw new Error(`no activation ${activationId} in this executor`);
    clearInterval(run.timer);
    if (run.status.state === 'done' || run.status.state === 'failed') return this.snapshot(run);
    // A follow-up under way finishes first, so its writes cannot land after the release.
    while (run.busy) await new Promise((r) => setTimeout(r, 20));
    run.busy = true;
    for (const s of run.sites) {
      if (!s.site) continue;
      const back = s.assets.filter((a) => s.moved.has(a.id));
      // A point written moments ago is rate-limited by the safety layer: wait (real time, up to
      // `releaseWaitMs`) until every return to base is taken.
      const deadline = Date.now() + (this.options.releaseWaitMs ?? 15_000);
      let pending = back;
      for (;;) {
        const verdicts = await this.writeAssets(
          run,
          s,
          pending,
          () => 0,
          `${reason}: release of ${run.plan.id}`,
        );
        pending = pending.filter((_, i) => verdicts[i] === 'later');
        if (pending.length === 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const ok = back.filter((a) => !pending.includes(a) && !s.offline.has(a.id));
      s.exec.messages.push(
        `released (${reason}): ${ok.map((a) => a.id).join(', ') || 'nothing'} back to base${
          back.some((a) => owedKwh(a, s.deliveredKwh.get(a.id) ?? 0) > 0) ? '; energy not restored' : ''
        }${pending.length > 0 ? `; ${pending.map((a) => a.id).join(', ')} still rate-limited (their fail-safe timeout remains)` : ''}`,
      );
      s.allocations = [];
      this.account(s);
    }
    run.status.state = 'done';
    run.status.updatedMs = this.options.now();
    run.busy = false;
    return this.snapshot(run);
  }

  /**
   * After a restart: the devices an activation held (its last snapshot) go back to their
   * stored base, once each; the activation itself is not resumed.
   */
  async recover(plan: ActivationPlan, held: readonly HeldAsset[], reason: string): Promise<ExecutionStatus> {
    const bases = new Map(held.map((h) => [`${h.siteId}/${h.assetId}`, h.baseKw]));
    const others = this.heldDevices();
    const sites: SiteExecution[] = [];
    for (const p of plan.sites) {
      const site = this.sites.get(p.siteId);
      const exec: SiteExecution = {
        siteId: p.siteId,
        requestedKw: p.kw,
        dispatchedKw: 0,
        shortfallKw: 0,
        setpointsWritten: 0,
        setpointsRefused: 0,
        messages: [],
      };
      sites.push(exec);
      if (!site) continue;
      const now = typeof site.assets === 'function' ? site.assets() : site.assets;
      const mine = now
        .filter((a) => bases.has(`${a.siteId}/${a.id}`) && !others.has(`${a.siteId}/${a.device}`))
        .map((a) => withBase(a, bases.get(`${a.siteId}/${a.id}`)));
      const s: SiteRun = {
        site,
        assets: mine,
        exec,
        allocations: [],
        offline: new Set(),
        deliveredKwh: new Map(),
        pendingBase: new Set(),
        moved: new Set(),
        taken: new Map(),
        pendingRelease: new Map(),
      };
      const run = { plan } as Run;
      const verdicts = await this.writeAssets(run, s, mine, () => 0, `${reason}: ${plan.id} ended`);
      const missing = held.filter((h) => h.siteId === p.siteId && !mine.some((a) => a.id === h.assetId));
      exec.messages.push(
        `${reason}: ${
          mine
            .filter((_, i) => verdicts[i] === 'ok')
            .map((a) => a.id)
            .join(', ') || 'no device'
        } put back to base` +
          (missing.length > 0
            ? `; ${missing.map((h) => h.assetId).join(', ')} not reachable now (its own fail-safe timeout brings it back)`
            : ''),
      );
    }
    return { activationId: plan.id, state: 'done', sites, updatedMs: this.options.now(), held: [] };
  }

  /**
   * Devices an activation holds now (dispatching, active or restoring), as `site/device` →
   * activation id: other writers (the live optimiser) must leave them alone until it is done.
   */
  heldDevices(): Map<string, string> {
    const held = new Map<string, string>();
    for (const run of this.runs.values()) {
      if (run.status.state === 'done' || run.status.state === 'failed') continue;
      for (const s of run.sites) for (const a of s.assets) held.set(`${a.siteId}/${a.device}`, run.plan.id);
    }
    return held;
  }

  /** Stop every timer (shutdown); devices fall back to their own fail-safe defaults. */
  close(): void {
    for (const run of this.runs.values()) clearInterval(run.timer);
  }

  private snapshot(run: Run): ExecutionStatus {
    const held: HeldAsset[] =
      run.status.state === 'done' || run.status.state === 'failed'
        ? []
        : run.sites.flatMap((s) =>
            s.assets.map((a) => ({
              siteId: a.siteId,
              assetId: a.id,
              device: a.device,
              ...(a.kind === 'battery' ? { baseKw: a.baseKw } : {}),
            })),
          );
    return { ...structuredClone(run.status), held };
  }

  private sign(run: Run): number {
    return run.plan.direction === 'up' ? 1 : -1;
  }

  /** Dispatch (or re-dispatch) a site's part and write it; repeats while assets drop out. */
  private async dispatchSite(run: Run, s: SiteRun): Promise<void> {
    if (!s.site) return;
    const now = this.options.now();
    for (let round = 0; round <= s.assets.length; round++) {
      const result = dispatch(
        {
          requestKw: s.exec.requestedKw,
          durationMs: Math.max(1, run.plan.endMs - Math.max(now, run.plan.startMs)),
          withinMs: Math.max(0, run.plan.fullByMs - now),
        },
        s.assets.map((a) => toDispatchAsset(a, run.plan.direction, !s.offline.has(a.id))),
        s.allocations.filter((a) => !s.offline.has(a.id)),
      );
      const before = new Map(s.allocations.map((a) => [a.id, a.kw]));
      const after = new Map(result.allocations.map((a) => [a.id, a.kw]));
      const changed = s.assets.filter((a) => (before.get(a.id) ?? 0) !== (after.get(a.id) ?? 0));
      s.allocations = result.allocations;
      const verdicts = await this.writeAssets(run, s, changed, (a) => after.get(a.id) ?? 0);
      this.account(s);
      if (!verdicts.includes('dropped')) return;
    }
  }

  /**
   * Write each asset's setpoints: assets in parallel within the per-device and per-building
   * bounds, one asset's commands in order; a verdict per asset. Where the port writes batches,
   * the one-setpoint assets of a device (fans, heat pumps) go as one batch, which takes one
   * slot of the bounds; a battery's ordered commands keep the one-by-one path.
   */
  private async writeAssets(
    run: Run,
    s: SiteRun,
    assets: RuntimeAsset[],
    kwOf: (a: RuntimeAsset) => number,
    why = `${run.plan.productId} activation ${run.plan.id}`,
  ): Promise<('ok' | 'later' | 'dropped')[]> {
    const planned = assets.map((asset) => {
      const kw = kwOf(asset);
      const { commands } =
        kw === 0 ? { commands: baseCommands(asset) } : commandsFor(asset, this.sign(run) * kw);
      return { asset, commands, keys: this.limiterKeys(asset) };
    });
    const port = s.site?.port;
    const batches = new Map<string, number[]>();
    if (port?.writeMany)
      planned.forEach((p, i) => {
        if (p.asset.kind === 'battery' || p.commands.length !== 1) return;
        const key = p.keys.join(' ');
        const batch = batches.get(key) ?? [];
        if (batch.length === 0) batches.set(key, batch);
        batch.push(i);
      });
    const verdicts: ('ok' | 'later' | 'dropped')[] = new Array(planned.length);
    const batched = new Set([...batches.values()].flat());
    await Promise.all([
      ...[...batches.values()].map((idx) =>
        this.limiter.run(planned[idx[0]!]!.keys, async () => {
          const results = await port!.writeMany!(
            idx.map((i) => ({ site: planned[i]!.asset.siteId, ...planned[i]!.commands[0]!, who: WHO, why })),
          );
          // Each result counts as a single write's would: a dropped asset that had moved is put back.
          await Promise.all(
            idx.map(async (i, k) => {
              const p = planned[i]!;
              verdicts[i] = await this.took(s, p.asset, p.commands[0]!, results[k]!, why);
            }),
          );
        }),
      ),
      ...planned.map(async (p, i) => {
        if (batched.has(i)) return;
        verdicts[i] = await this.limiter.run(p.keys, () => this.writeCommands(s, p.asset, p.commands, why));
      }),
    ]);
    return verdicts;
  }

  /** The bounds an asset's writes count against: its building, then its device connection. */
  private limiterKeys(asset: RuntimeAsset): string[] {
    return [`b:${asset.siteId}/${asset.building ?? asset.device}`, `d:${asset.siteId}/${asset.device}`];
  }

  private async writeCommands(
    s: SiteRun,
    asset: RuntimeAsset,
    commands: SetpointCommand[],
    why: string,
  ): Promise<'ok' | 'later' | 'dropped'> {
    for (const c of commands) {
      // The lease's timeout, once taken, is not rewritten at each follow-up (the rates renew it).
      if (
        asset.kind === 'battery' &&
        c.point === asset.revertPoint &&
        s.taken.get(`${c.device}/${c.point}`) === c.value
      )
        continue;
      const r = await s.site!.port.write({ site: asset.siteId, ...c, who: WHO, why });
      const verdict = await this.took(s, asset, c, r, why);
      if (verdict !== 'ok') return verdict;
    }
    return 'ok';
  }

  /**
   * What one write's result means for the asset: taken (counted, remembered), `later` (rate
   * limit), or dropped: its part goes to the others and, if it had moved, it is put back.
   */
  private async took(
    s: SiteRun,
    asset: RuntimeAsset,
    c: SetpointCommand,
    r: WriteResult,
    why: string,
  ): Promise<'ok' | 'later' | 'dropped'> {
    const verdict = writeVerdict(r);
    if (verdict === 'ok') {
      s.exec.setpointsWritten += 1;
      s.moved.add(asset.id);
      s.taken.set(`${c.device}/${c.point}`, c.value);
      return 'ok';
    }
    if (verdict === 'later') return 'later';
    s.exec.setpointsRefused += 1;
    s.offline.add(asset.id);
    s.allocations = s.allocations.filter((a) => a.id !== asset.id);
    s.exec.messages.push(
      `${asset.id} dropped out: ${c.point} ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
    );
    if (s.moved.has(asset.id)) await this.releaseAsset(s, asset, why);
    return 'dropped';
  }

  /**
   * One attempt to put a dropped asset back to base, so it does not stay on its last accepted
   * activation setpoint (a derated battery still takes 0 W). A point that already holds its
   * base value (the battery's other rate) is not written again. A write the rate limit holds
   * back is tried again at the next follow-up; if one is refused otherwise, the device's own
   * fail-safe timeout is what remains, and the message says so.
   */
  private async releaseAsset(s: SiteRun, asset: RuntimeAsset, why: string): Promise<void> {
    s.pendingRelease.delete(asset.id);
    for (const c of baseCommands(asset)) {
      if (s.taken.get(`${c.device}/${c.point}`) === c.value) continue;
      const r = await s.site!.port.write({
        site: asset.siteId,
        ...c,
        who: WHO,
        why: `${asset.id} dropped out of ${why}`,
      });
      if (r.outcome === 'written') s.taken.set(`${c.device}/${c.point}`, c.value);
      else if (writeVerdict(r) === 'later') {
        s.pendingRelease.set(asset.id, why);
        return;
      } else {
        s.exec.messages.push(
          `${asset.id} not put back to base: ${c.point} ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
        );
        return;
      }
    }
  }

  private account(s: SiteRun): void {
    s.exec.dispatchedKw = s.allocations.reduce((a, x) => a + x.kw, 0);
    s.exec.shortfallKw = Math.max(0, s.exec.requestedKw - s.exec.dispatchedKw);
  }

  private async followUp(run: Run): Promise<void> {
    if (run.busy) return;
    run.busy = true;
    try {
      const now = this.options.now();
      const hours = Math.max(0, now - run.lastMs) / 3_600_000;
      run.lastMs = now;
      if (run.status.state === 'active') {
        for (const s of run.sites)
          for (const a of s.allocations)
            s.deliveredKwh.set(a.id, (s.deliveredKwh.get(a.id) ?? 0) + a.kw * hours);
        if (now >= run.plan.endMs) {
          await this.beginRestore(run, 'end of the activation');
          return;
        }
        // Sites in parallel, as at the start.
        await Promise.all(
          run.sites.map(async (s) => {
            if (!s.site) return;
            for (const [id, why] of [...s.pendingRelease]) {
              const asset = s.assets.find((a) => a.id === id);
              if (asset) await this.releaseAsset(s, asset, why);
            }
            const kw = new Map(s.allocations.map((a) => [a.id, a.kw]));
            const active = s.assets.filter((a) => kw.has(a.id));
            const verdicts = await this.writeAssets(run, s, active, (a) => kw.get(a.id)!);
            if (verdicts.includes('dropped')) await this.dispatchSite(run, s);
            this.account(s);
          }),
        );
      } else if (run.status.state === 'restoring') await this.stepRestore(run, now);
      run.status.updatedMs = this.options.now();
    } finally {
      run.busy = false;
    }
  }

  /**
   * Back to base: assets that owe nothing return at once; energy owed (a battery's discharge)
   * is scheduled per slot under the grid import limit on top of the measured import, which
   * still lacks what every activated asset will draw again at its base, so that is added
   * first. A return to base the rate limit holds back is written again at each follow-up, and
   * the activation is not `done` before every asset has taken it.
   */
  private async beginRestore(run: Run, reason: string): Promise<void> {
    run.status.state = 'restoring';
    const now = this.options.now();
    for (const s of run.sites) {
      if (!s.site) continue;
      s.exec.messages.push(`restoring: ${reason}`);
      const byId = new Map(s.assets.map((a) => [a.id, a]));
      const owing = s.assets.filter((a) => owedKwh(a, s.deliveredKwh.get(a.id) ?? 0) > 0);
      const returning = s.allocations.filter((a) => !owing.some((o) => o.id === a.id));
      // Every asset goes back to its base (the owing ones before they recharge on top of it),
      // so the import rises by all of the activation's allocations, not only the returning ones.
      const returnKw = s.allocations.reduce((x, a) => x + this.sign(run) * a.kw, 0);
      const measured = s.site.siteImportKw?.();
      const loadKw = (measured ?? s.site.gridImportLimitKw) + returnKw;
      s.restore = restoreSchedule({
        startMs: now,
        slotMs: this.slotMs,
        siteLoadKw: Array.from({ length: this.slots }, () => loadKw),
        gridLimitKw: s.site.gridImportLimitKw,
        ...(s.site.maxReboundKw === undefined ? {} : { maxReboundKw: s.site.maxReboundKw }),
        assets: owing.map((a) => ({
          id: a.id,
          energyKwh: owedKwh(a, s.deliveredKwh.get(a.id) ?? 0),
          maxKw: a.kind === 'battery' ? a.maxChargeKw - a.baseKw : 0,
          // The asset nearest its comfort edge is restored first.
          priority: a.comfortMargin,
        })),
      });
      if (measured === undefined && owing.length > 0)
        s.exec.messages.push('no measured import: nothing restored, the grid limit could not be checked');
      for (const [id, kwh] of Object.entries(s.restore.unrestoredKwh))
        s.exec.messages.push(`${id}: ${kwh.toFixed(2)} kWh could not be restored within the horizon`);
      const back = returning.map((a) => byId.get(a.id)!);
      const verdicts = await this.writeAssets(run, s, back, () => 0, `end of ${run.plan.id}`);
      back.forEach((a, i) => {
        if (verdicts[i] === 'later') s.pendingBase.add(a.id);
      });
      s.allocations = s.allocations.filter((a) => owing.some((o) => o.id === a.id));
    }
    await this.stepRestore(run, now);
  }

  private async stepRestore(run: Run, now: number): Promise<void> {
    let remaining = false;
    for (const s of run.sites) {
      if (!s.site || !s.restore) continue;
      const slot = s.restore.slots.find((x) => x.startMs <= now && now < x.startMs + this.slotMs);
      // The slot under way counts: done only after its charging has been written back to base.
      const later = s.restore.slots.some(
        (x) => x.startMs + this.slotMs > now && Object.keys(x.assets).length > 0,
      );
      remaining ||= later;
      for (const asset of s.assets) {
        if (s.pendingBase.has(asset.id)) {
          const v = await this.writeCommands(s, asset, baseCommands(asset), `end of ${run.plan.id}`);
          if (v !== 'later') s.pendingBase.delete(asset.id);
          else remaining = true;
          continue;
        }
        if (asset.kind !== 'battery' || !s.deliveredKwh.has(asset.id)) continue;
        const kw = slot?.assets[asset.id] ?? 0;
        // Restoring is charging: a change downwards from the base by `kw`.
        const v = await this.writeCommands(
          s,
          asset,
          commandsFor(asset, -kw).commands,
          `restore after ${run.plan.id}`,
        );
        // The last write (back to base) must land before the activation is done.
        if (v === 'later' && !later) remaining = true;
      }
    }
    if (!remaining) {
      clearInterval(run.timer);
      run.status.state = 'done';
      for (const s of run.sites) {
        s.allocations = [];
        this.account(s);
        s.exec.shortfallKw = 0;
      }
    }
    run.status.updatedMs = this.options.now();
  }
}
