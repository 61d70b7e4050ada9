import { command, release, splitPointKey } from '../control/drivers.js';
import { SetpointMemory, type SetpointMemoryOptions } from '../control/setpoint-memory.js';
import type { Asset, PvAsset, Site, WriteFn, WriteRecord } from '../model/index.js';
import { valueAt } from './problem.js';
import type { Plan } from './replan.js';

/**
 * One asset's decision for the slot in force, in kW, in the drivers' convention (control/):
 * positive drawn from the building. Battery: + charges, − discharges; EV charger: charging
 * power; sheddable load and heat pump: their planned draw; PV inverter: minus the most it may
 * generate while curtailed, or `release` (no limit: the inverter is back on its own control).
 */
export interface AssetSetpoint {
  assetId: string;
  type: 'battery' | 'ev_charger' | 'sheddable' | 'thermal' | 'pv';
  kw: number;
  /** Hand the asset back to its own control (control/ `release`) instead of commanding `kw`. */
  release?: boolean;
  /** PV only: curtailment the plan wants that this inverter's share could not take, kW. */
  shortKw?: number;
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

/** Least curtailment worth a limit, kW: below it an inverter is left (or put back) unlimited. */
export const MIN_CURTAIL_KW = 0.1;

/**
 * The PV curtailment the plan means at plan slot `t`, kW: available PV (`problem.pvKw`) minus
 * what the plan uses, but only where a kWh of PV is worth less than nothing (the site imports
 * at a negative price, or exports at a negative price or at its export limit). Elsewhere a
 * curtailing plan is a tie (export at exactly 0, say) and the PV is left to run.
 */
export function plannedCurtailKw(plan: Plan, t: number): number {
  const p = plan.request.problem;
  const s = plan.schedule;
  const available = p.pvKw[t] ?? 0;
  const used = s.pvUsedKw[t] ?? available;
  const curtail = available - used;
  if (curtail < MIN_CURTAIL_KW) return 0;
  const importing = (s.importKw[t] ?? 0) > 0.01;
  const atExportLimit = (s.exportKw[t] ?? 0) >= valueAt(p.grid.exportLimitKw, t, Infinity) - 0.01;
  const worth = importing ? (p.prices.import[t] ?? 0) : atExportLimit ? -Infinity : (p.prices.export[t] ?? 0);
  return worth < 0 ? curtail : 0;
}

/**
 * The PV setpoints for plan slot `t`: the site's curtailment (`plannedCurtailKw`) split over
 * its curtailable inverters with a control binding in proportion to their kWp (the forecast
 * is the site's; each inverter's share of it is taken as its share of the site's kWp). An
 * inverter gets `kw` = −(its share of the available PV − its share of the curtailment), or
 * `release` when nothing is curtailed. What the controllable inverters cannot take (the
 * other inverters' PV) is `shortKw`, said in the writes' why.
 */
export function pvSetpoints(
  plan: Plan,
  t: number,
  pv: readonly PvAsset[],
  controlled: (assetId: string) => boolean,
): AssetSetpoint[] {
  const mine = pv.filter((a) => a.curtailable && controlled(a.id));
  if (mine.length === 0) return [];
  const totalKwp = pv.reduce((n, a) => n + a.kwp, 0);
  const mineKwp = mine.reduce((n, a) => n + a.kwp, 0);
  const available = plan.request.problem.pvKw[t] ?? 0;
  const curtail = plannedCurtailKw(plan, t);
  const controllable = (available * mineKwp) / totalKwp;
  const take = Math.min(curtail, controllable);
  const shortKw = curtail - take;
  return mine.map((a) => {
    if (curtail === 0) return { assetId: a.id, type: 'pv', kw: -a.inverterKw, release: true };
    const share = a.kwp / mineKwp;
    const limitKw = Math.max(0, controllable * share - take * share);
    return {
      assetId: a.id,
      type: 'pv',
      kw: -limitKw,
      ...(shortKw > 0.005 ? { shortKw: shortKw * share } : {}),
    };
  });
}

/**
 * The plan's setpoints for absolute slot `slot` (the plan's own slot 0 or later). Batteries
 * and EV chargers always (a missing binding is reported by the sink); sheddable loads and
 * heat pumps only when `controlled(id)` says the site binds a control point for them, since
 * most sites plan them without being able to move them; curtailable PV inverters with a
 * binding as `pvSetpoints` says (`pv`: the site's PV assets).
 */
export function setpointsAt(
  plan: Plan,
  slot: number,
  controlled: (assetId: string) => boolean = () => false,
  pv: readonly PvAsset[] = [],
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
  out.push(...pvSetpoints(plan, t, pv, controlled));
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
      // A release hands the asset back (a PV inverter's limit off): it needs no lease renewed.
      const cmd = sp.release
        ? release(asset)
        : command(asset, sp.kw, asset.lease ? { revertS: asset.lease.revertS } : {});
      if (cmd.missing)
        out.push({ assetId: sp.assetId, pointId: '', value: null, outcome: 'skipped', reason: cmd.missing });
      const due = this.memory.due(asset, cmd, this.clock(), { renew: !sp.release });
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
