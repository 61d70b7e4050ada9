import { command, splitPointKey } from '../control/drivers.js';
import type { Asset, Site, WriteFn } from '../model/index.js';
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
}

/** Where the loop sends the current slot's setpoints. */
export interface SetpointSink {
  send(site: Site, setpoints: readonly AssetSetpoint[], why: string): Promise<SetpointWrite[]>;
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

/** A SetpointSink over the gateway's safety layer: every write is checked, logged and audited there. */
export class GatewaySetpointSink implements SetpointSink {
  constructor(
    private readonly write: WriteFn,
    private readonly who = 'optimizer',
  ) {}

  async send(site: Site, setpoints: readonly AssetSetpoint[], why: string): Promise<SetpointWrite[]> {
    const assets = new Map(site.buildings.flatMap((b) => b.assets).map((a) => [a.id, a]));
    const out: SetpointWrite[] = [];
    for (const sp of setpoints) {
      const asset = assets.get(sp.assetId);
      const plan = asset ? pointWrites(asset, sp) : { writes: [], missing: 'no such asset' };
      if (plan.missing)
        out.push({ assetId: sp.assetId, pointId: '', value: null, outcome: 'skipped', reason: plan.missing });
      // One at a time, in the driver's order (a battery never passes through a state outside
      // the old and the new power).
      for (const w of plan.writes) {
        const rec = await this.write({ ...splitPointKey(w.pointId), value: w.value, who: this.who, why });
        out.push({
          assetId: sp.assetId,
          pointId: w.pointId,
          value: rec.value ?? null,
          outcome: rec.outcome,
          reason: rec.reason,
        });
      }
    }
    return out;
  }
}
