import type { Asset } from '../model/index.js';
import type { Command, PointWrite } from './drivers.js';

/**
 * What not to write again: the last value each point accepted (from any writer), a deadband
 * per point below which a new value is not worth a write, and the lease a device's fail-safe
 * needs (it reverts to its own control after so long without a write). Pure: fed write
 * records, asked with the time.
 */

/**
 * Least change worth a write, by control binding, in the point's unit (model/asset.ts
 * `CONTROL_BINDINGS`). Power points in W, rates and limits in %; modes, switches and timeouts
 * are exact. 50 W or 0.5 % is below what a meter resolves on a building's battery or fan.
 */
export const DEFAULT_DEADBANDS: Readonly<Record<string, number>> = {
  power: 50,
  power_limit: 50,
  charge_rate: 0.5,
  discharge_rate: 0.5,
  limit_pct: 0.5,
  speed: 0.5,
  // A zone setpoint, °C.
  setpoint: 0.05,
};

/**
 * The fail-safe assumed for a SunSpec-commanded asset (battery model 124, PV model 123) without
 * a configured `lease` (model/asset.ts): 60 s, the common factory setting (and the simulator's).
 * Plain setpoints (`power`, `enable`, `speed`) are assumed to hold until rewritten.
 */
export const DEFAULT_SUNSPEC_FAILSAFE_S = 60;

export interface SetpointMemoryOptions {
  /** Deadbands by binding name, over DEFAULT_DEADBANDS. */
  deadbands?: Record<string, number>;
  /** Deadbands by point key (`site/device/point`), over the binding's. */
  pointDeadbands?: Record<string, number>;
  /** Fail-safe timeout by asset id, s (0: the device holds a value until rewritten), over the asset's `lease`. */
  failSafeS?: Record<string, number>;
}

/** Which writes of a command to send now, and whether they only renew the device's lease. */
export interface DueWrites {
  writes: PointWrite[];
  /** True when nothing changed and the writes are only there to keep the fail-safe from reverting. */
  lease: boolean;
  /** The fail-safe timeout behind a lease, s. */
  failSafeS: number;
}

/** Bindings that set how a command is taken, not its value: not what a lease rewrites. */
const FRAMING = new Set(['mode', 'limit_enable', 'revert_timeout']);

export class SetpointMemory {
  private readonly last = new Map<string, { value: number; ts: number }>();
  private readonly deadbands: Record<string, number>;

  constructor(private readonly o: SetpointMemoryOptions = {}) {
    this.deadbands = { ...DEFAULT_DEADBANDS, ...o.deadbands };
  }

  /**
   * Take a write record of any writer. A value the device accepted (written, or written and
   * read back differently) is the point's value from then on; a refusal or a device error
   * leaves the point as it was. A device held by another writer is forgotten: whatever that
   * writer leaves behind is written again, not assumed.
   */
  observe(r: {
    key: string;
    value: number | null;
    outcome: string;
    ts: number;
    refusal?: string | null;
  }): void {
    if (r.value !== null && (r.outcome === 'written' || r.outcome === 'unverified')) {
      const held = this.last.get(r.key);
      if (!held || held.ts <= r.ts) this.last.set(r.key, { value: r.value, ts: r.ts });
    } else if (r.refusal === 'held') {
      const device = r.key.slice(0, r.key.lastIndexOf('/') + 1);
      for (const k of [...this.last.keys()]) if (k.startsWith(device)) this.last.delete(k);
    }
  }

  /** The last accepted value of a point, if known. */
  lastValue(key: string): number | undefined {
    return this.last.get(key)?.value;
  }

  /** Least change worth a write to `key`, bound as `binding`. */
  deadband(key: string, binding: string | undefined): number {
    return this.o.pointDeadbands?.[key] ?? (binding ? this.deadbands[binding] : undefined) ?? 0;
  }

  /** The asset's fail-safe timeout, s (0: none): as configured, its lease, else assumed. */
  failSafeS(asset: Asset): number {
    const configured = this.o.failSafeS?.[asset.id] ?? asset.lease?.revertS;
    if (configured !== undefined) return configured;
    const c = asset.control;
    const sunspec =
      (asset.type === 'battery' && c.mode !== undefined) || (asset.type === 'pv' && c.limit_pct);
    return sunspec ? DEFAULT_SUNSPEC_FAILSAFE_S : 0;
  }

  /**
   * The writes of `cmd` (the driver's, in its order) worth sending at `nowMs`: those whose value
   * moved past the point's deadband from its last accepted value (a move to or from exactly 0
   * always counts: idle means idle). When none did, and the asset's fail-safe would revert
   * before the next chance, one write renews it (the value that carries the command, e.g. the
   * rate in force) once half the timeout has passed since the asset's last accepted write.
   * `renew: false` (a release, which hands the device back) never renews.
   */
  due(asset: Asset, cmd: Command, nowMs: number, o: { renew?: boolean } = {}): DueWrites {
    const bindingOf = new Map(Object.entries(asset.control).map(([name, key]) => [key, name]));
    const failSafeS = this.failSafeS(asset);
    const changed = cmd.writes.filter((w) => {
      const held = this.last.get(w.point);
      if (!held) return true;
      if ((w.value === 0) !== (held.value === 0)) return true;
      return Math.abs(w.value - held.value) > this.deadband(w.point, bindingOf.get(w.point)) + 1e-9;
    });
    if (changed.length > 0 || failSafeS <= 0 || cmd.writes.length === 0 || o.renew === false)
      return { writes: changed, lease: false, failSafeS };
    const lastTs = Math.max(...cmd.writes.map((w) => this.last.get(w.point)?.ts ?? -Infinity));
    if (nowMs - lastTs < (failSafeS * 1000) / 2) return { writes: [], lease: false, failSafeS };
    const carrying = cmd.writes.filter((w) => !FRAMING.has(bindingOf.get(w.point) ?? ''));
    const renew = carrying[carrying.length - 1] ?? cmd.writes[cmd.writes.length - 1]!;
    return { writes: [renew], lease: true, failSafeS };
  }
}
