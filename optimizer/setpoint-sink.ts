import type { Asset, Site } from '../model/index.js';
import type { Plan } from './replan.js';

/**
 * One asset's decision for the slot in force, in kW. Battery: positive charges, negative
 * discharges. EV charger: charging power.
 */
export interface AssetSetpoint {
  assetId: string;
  type: 'battery' | 'ev_charger';
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

/** The plan's setpoints for absolute slot `slot` (the plan's own slot 0 or later). */
export function setpointsAt(plan: Plan, slot: number): AssetSetpoint[] {
  const t = slot - plan.slot;
  const out: AssetSetpoint[] = [];
  for (const [id, a] of Object.entries(plan.schedule.assets)) {
    if (a.type === 'battery')
      out.push({ assetId: id, type: 'battery', kw: (a.chargeKw[t] ?? 0) - (a.dischargeKw[t] ?? 0) });
    else if (a.type === 'ev') out.push({ assetId: id, type: 'ev_charger', kw: a.powerKw[t] ?? 0 });
  }
  return out;
}

/** The gateway's safety-layer write, as a function (Gateway.write or a runtime that routes by device). */
export type GatewayWrite = (req: {
  site: string;
  device: string;
  point: string;
  value: number;
  who: string;
  why: string;
}) => Promise<{ outcome: string; value: number | null; reason: string | null }>;

/** Rounded so the read-back compares equal and the audit log stays readable. */
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/**
 * Point writes for one setpoint, from the asset's `control` bindings (README "Dispatch"):
 * - battery with `power`: one write in W, positive = charging;
 * - battery with `mode`, `charge_rate`, `discharge_rate` (SunSpec model 124 storage controls):
 *   mode 1 = charge, 2 = discharge, 0 = idle; rates in % of `maxChargeKw` (WChaMax);
 * - EV charger with `power`: W.
 * An asset without a usable binding yields a note and no write.
 */
export function pointWrites(
  asset: Asset,
  sp: AssetSetpoint,
): { writes: { pointId: string; value: number }[]; missing?: string } {
  const c = asset.control;
  if (asset.type === 'battery') {
    if (c.power) return { writes: [{ pointId: c.power, value: round(sp.kw * 1000, 0) }] };
    if (c.mode && c.charge_rate && c.discharge_rate) {
      const pct = round(Math.min(100, (Math.abs(sp.kw) / asset.maxChargeKw) * 100), 1);
      const charging = sp.kw > 1e-3;
      const discharging = sp.kw < -1e-3;
      return {
        writes: [
          { pointId: c.charge_rate, value: charging ? pct : 0 },
          { pointId: c.discharge_rate, value: discharging ? pct : 0 },
          { pointId: c.mode, value: charging ? 1 : discharging ? 2 : 0 },
        ],
      };
    }
    return { writes: [], missing: 'no control binding `power` or `mode`/`charge_rate`/`discharge_rate`' };
  }
  if (asset.type === 'ev_charger' && c.power)
    return { writes: [{ pointId: c.power, value: round(sp.kw * 1000, 0) }] };
  return { writes: [], missing: 'no control binding `power`' };
}

/** A SetpointSink over the gateway's safety layer: every write is checked, logged and audited there. */
export class GatewaySetpointSink implements SetpointSink {
  constructor(
    private readonly write: GatewayWrite,
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
      // One at a time: rates before mode, so the battery never runs on an old rate in a new mode.
      for (const w of plan.writes) {
        const [siteId, device, point] = w.pointId.split('/') as [string, string, string];
        const rec = await this.write({ site: siteId, device, point, value: w.value, who: this.who, why });
        out.push({ assetId: sp.assetId, pointId: w.pointId, ...rec });
      }
    }
    return out;
  }
}
