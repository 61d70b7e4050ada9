import { command, splitPointKey } from '../control/drivers.js';
import { SetpointMemory, type SetpointMemoryOptions } from '../control/setpoint-memory.js';
import type { Asset, Site, WriteFn, WriteRecord } from '../model/index.js';
import type { Plan } from './replan.js';

/**
 * One asset's decision for the slot in force, in kW, in the drivers' convention (control/):
 * positive drawn from the building. Battery: + charges, − discharges; EV charger: charging
 * power; sheddable load and heat pump: their planned draw.
 */
export interface AssetSetpoint {
  assetId: string;
  type: 'battery' | 'ev_charger' | 'sheddable' | 'thermal';
  kw: number;
}

/** What a sink did with one point write (the gateway's outcome, or why nothing was sent). */
export interface SetpointWrite {
  assetId: string;
  pointId: string;
  value: number | null;
  outcome: string;
  reason: string | null;
  /** Sent only to renew the device's fail-safe lease (the value had not changed). */
  lease?: boolean;
}

/** Where the loop sends the current slot's setpoints. */
export interface SetpointSink {
  send(site: Site, setpoints: readonly AssetSetpoint[], why: string): Promise<SetpointWrite[]>;
  /** Every writer's write records (the hub's `writes` topic): what the devices hold now. */
  observe?(record: WriteRecord): void;
}

/**
 * The plan's setpoints for absolute slot `slot` (the plan's own slot 0 or later). Batteries
 * and EV chargers always (a missing binding is reported by the sink); sheddable loads and
 * heat pumps only when `controlled(id)` says the site binds a control point for them, since
 * most sites plan them without being able to move them.
 */
export function setpointsAt(
  plan: Plan,
  slot: number,
  controlled: (assetId: string) => boolean = () => false,
): AssetSetpoint[] {
  const t = slot - plan.slot;
  const out: AssetSetpoint[] = [];
  for (const [id, a] of Object.entries(plan.schedule.assets)) {
    if (a.type === 'battery')
      out.push({ assetId: id, type: 'battery', kw: (a.chargeKw[t] ?? 0) - (a.dischargeKw[t] ?? 0) });
    else if (a.type === 'ev') out.push({ assetId: id, type: 'ev_charger', kw: a.powerKw[t] ?? 0 });
    else if ((a.type === 'sheddable' || a.type === 'thermal') && controlled(id))
      out.push({ assetId: id, type: a.type, kw: a.powerKw[t] ?? 0 });
  }
  return out;
}

/** Whether an asset of `site` has any control binding (the optimiser may dispatch it). */
export function controlledAssets(site: Site): (assetId: string) => boolean {
  const ids = new Set(
    site.buildings.flatMap((b) => b.assets.filter((a) => Object.keys(a.control).length > 0).map((a) => a.id)),
  );
  return (id) => ids.has(id);
}

/**
 * Point writes for one setpoint: the asset driver of control/ over the asset's `control`
 * bindings (README "Dispatch"; a SunSpec 124 battery as settled there: StorCtl_Mod 3, one
 * rate in % of WChaMax, the falling rate first and the mode last). An asset without a usable
 * binding yields a note and no write.
 */
export function pointWrites(
  asset: Asset,
  sp: AssetSetpoint,
): { writes: { pointId: string; value: number }[]; missing?: string } {
  const cmd = command(asset, sp.kw);
  return {
    writes: cmd.writes.map((w) => ({ pointId: w.point, value: w.value })),
    ...(cmd.missing ? { missing: cmd.missing } : {}),
  };
}

export interface GatewaySinkOptions extends SetpointMemoryOptions {
  /** Who the writes are recorded as (default `optimizer`). */
  who?: string;
  /** The clock leases are timed on (the gateway's: wall clock, or a simulation's in tests). */
  clock?: () => number;
}

/**
 * A SetpointSink over the gateway's safety layer: every write is checked, logged and audited
 * there. Unchanged values are not rewritten (control/setpoint-memory.ts: a deadband per point
 * against the last value the device accepted, from any writer); a device whose fail-safe
 * would revert gets one write renewing the lease, its `why` saying so.
 */
export class GatewaySetpointSink implements SetpointSink {
  private readonly memory: SetpointMemory;
  private readonly who: string;
  private readonly clock: () => number;

  constructor(
    private readonly write: WriteFn,
    o: GatewaySinkOptions = {},
  ) {
    this.memory = new SetpointMemory(o);
    this.who = o.who ?? 'optimizer';
    this.clock = o.clock ?? Date.now;
  }

  observe(r: WriteRecord): void {
    this.memory.observe({ ...r, key: `${r.site}/${r.device}/${r.point}` });
  }

  async send(site: Site, setpoints: readonly AssetSetpoint[], why: string): Promise<SetpointWrite[]> {
    const assets = new Map(site.buildings.flatMap((b) => b.assets).map((a) => [a.id, a]));
    const out: SetpointWrite[] = [];
    for (const sp of setpoints) {
      const asset = assets.get(sp.assetId);
      if (!asset) {
        out.push({
          assetId: sp.assetId,
          pointId: '',
          value: null,
          outcome: 'skipped',
          reason: 'no such asset',
        });
        continue;
      }
      // The lease is written with the command where the asset binds `revert_timeout` (unchanged,
      // the memory does not send it again).
      const cmd = command(asset, sp.kw, asset.lease ? { revertS: asset.lease.revertS } : {});
      if (cmd.missing)
        out.push({ assetId: sp.assetId, pointId: '', value: null, outcome: 'skipped', reason: cmd.missing });
      const due = this.memory.due(asset, cmd, this.clock());
      const because = due.lease
        ? `Lease refresh (the device reverts to its own control after ${due.failSafeS} s without a write). ${why}`
        : why;
      // One at a time, in the driver's order (a battery never passes through a state outside
      // the old and the new power).
      for (const w of due.writes) {
        const rec = await this.write({
          ...splitPointKey(w.point),
          value: w.value,
          who: this.who,
          why: because,
        });
        this.memory.observe({ ...rec, key: w.point, value: rec.value ?? null, ts: this.clock() });
        out.push({
          assetId: sp.assetId,
          pointId: w.point,
          value: rec.value ?? null,
          outcome: rec.outcome,
          reason: rec.reason,
          ...(due.lease ? { lease: true } : {}),
        });
      }
    }
    return out;
  }
}
