import { z } from 'zod';
import { drawAtSpeed, speedPctFor, storage124 } from '../../control/drivers.js';
import { IdSchema } from '../../model/index.js';
import type { DispatchAsset } from '../dispatch.js';

/**
 * What the device side of the market knows about an asset it may move: which gateway points
 * carry its setpoint and the physics needed to turn "x kW less" into a setpoint value. Pure:
 * no I/O here. Sign convention as in market/: a change is + up (less consumption, more
 * generation) and − down.
 */
const base = {
  id: IdSchema,
  siteId: IdSchema,
  /** Gateway device id holding the setpoint points. */
  device: z.string().min(1),
  /** The building it is in (writes are bounded per building); absent: its device stands for it. */
  building: z.string().min(1).optional(),
  /** Cost of one kWh delivered (merit order), any consistent unit. */
  costPerKwh: z.number().nonnegative().default(0),
  /** 0 = at its comfort edge, 1 = far from it (merit order). */
  comfortMargin: z.number().min(0).max(1).default(1),
};

/** A variable-speed fan (air-handling unit) with a speed setpoint in %. */
export const FanAssetSchema = z
  .object({
    ...base,
    kind: z.literal('fan'),
    /** The speed setpoint point, % (its min/max in the gateway file must match minPct/maxPct). */
    point: z.string().min(1),
    ratedKw: z.number().positive(),
    law: z.enum(['cubic', 'linear']).default('cubic'),
    /** Speed it runs at without the market (its schedule or the optimiser's plan), %. */
    basePct: z.number().min(0).max(100),
    minPct: z.number().min(0).max(100),
    maxPct: z.number().min(0).max(100),
    /** Drives reach a new speed within seconds: effectively no ramp limit for the market. */
    rampKwPerS: z.number().positive().default(100),
    /** Hub key of the fan's own power reading, W (its delivery is proven on it). */
    powerPoint: z.string().min(1).optional(),
  })
  .refine((f) => f.minPct <= f.maxPct, { path: ['maxPct'], message: 'maxPct must be at least minPct' });

/**
 * A battery behind a SunSpec model 124 storage unit, commanded by the one driver
 * (control/drivers.ts `storage124`: StorCtl_Mod 3, one rate in % of WChaMax, the other 0).
 */
export const BatteryAssetSchema = z.object({
  ...base,
  kind: z.literal('battery'),
  modePoint: z.string().min(1),
  chargePoint: z.string().min(1),
  dischargePoint: z.string().min(1),
  /** InOutWRte_RvrtTms and the command lease written to it first, s (model/asset.ts `lease`). */
  revertPoint: z.string().min(1).optional(),
  revertS: z.number().int().min(1).max(65535).optional(),
  /** The power the rate percentages refer to (WChaMax), kW. */
  ratedKw: z.number().positive(),
  maxChargeKw: z.number().positive(),
  maxDischargeKw: z.number().positive(),
  /** Power it runs at without the market, kW, + charging. */
  baseKw: z.number().default(0),
  storedKwh: z.number().nonnegative(),
  minKwh: z.number().nonnegative().default(0),
  maxKwh: z.number().positive(),
  /** Round-trip losses: one kWh delivered up needs 1/efficiency kWh back at the meter. */
  roundTripEfficiency: z.number().gt(0).max(1).default(0.9),
  rampKwPerS: z.number().positive().default(1000),
});

/**
 * A heat pump on a zone thermostat (BMS setpoint), moved by thermal coasting: the setpoint is
 * lowered to `coastSetpointC`, so the thermostat stays off while the zone cools from where it
 * is. The lower switch-on point of the thermostat (coast − band/2) may not be under the zone's
 * comfort limit, so coasting never takes the zone below it. The pump is on or off: what it
 * gives is its expected mean draw at this hour (`meanKw`, e.g. from the same hours of the
 * baseline days), not a chosen amount. No down: it cannot be made to draw more on request here.
 */
export const HeatPumpAssetSchema = z
  .object({
    ...base,
    kind: z.literal('heat_pump'),
    setpointPoint: z.string().min(1),
    baseSetpointC: z.number(),
    coastSetpointC: z.number(),
    /** Thermostat hysteresis, K (switches on below setpoint − band/2). */
    bandC: z.number().nonnegative(),
    /** The lowest zone temperature the occupants accept, °C. */
    comfortMinC: z.number(),
    meanKw: z.number().nonnegative(),
    rampKwPerS: z.number().positive().default(100),
  })
  .refine((h) => h.coastSetpointC < h.baseSetpointC, {
    path: ['coastSetpointC'],
    message: 'coastSetpointC must be below baseSetpointC',
  })
  .refine((h) => h.coastSetpointC - h.bandC / 2 >= h.comfortMinC, {
    path: ['coastSetpointC'],
    message: 'coasting would let the zone fall below comfortMinC (coastSetpointC − bandC/2 < comfortMinC)',
  });

export const RuntimeAssetSchema = z.union([FanAssetSchema, BatteryAssetSchema, HeatPumpAssetSchema]);
export type FanAsset = z.infer<typeof FanAssetSchema>;
export type BatteryAsset = z.infer<typeof BatteryAssetSchema>;
export type HeatPumpAsset = z.infer<typeof HeatPumpAssetSchema>;
export type RuntimeAsset = z.infer<typeof RuntimeAssetSchema>;

export interface SetpointCommand {
  device: string;
  point: string;
  value: number;
}

const fanKw = (f: FanAsset, pct: number) => drawAtSpeed(pct, f.ratedKw, f.law);

/** Consumption of the asset at its base operating point, kW (+ drawn from the building). */
export function baseConsumptionKw(asset: RuntimeAsset): number {
  if (asset.kind === 'heat_pump') return asset.meanKw;
  return asset.kind === 'fan' ? fanKw(asset, asset.basePct) : asset.baseKw;
}

/** The largest change the asset can make in `direction` from its base, kW (≥ 0). */
export function headroomKw(asset: RuntimeAsset, direction: 'up' | 'down'): number {
  if (asset.kind === 'heat_pump') return direction === 'up' ? asset.meanKw : 0;
  if (asset.kind === 'fan') {
    const now = fanKw(asset, asset.basePct);
    return Math.max(
      0,
      direction === 'up' ? now - fanKw(asset, asset.minPct) : fanKw(asset, asset.maxPct) - now,
    );
  }
  return Math.max(
    0,
    direction === 'up' ? asset.maxDischargeKw + asset.baseKw : asset.maxChargeKw - asset.baseKw,
  );
}

/** Energy the asset can give in `direction` before a limit; undefined = none (a fan has no store). */
export function energyLimitKwh(asset: RuntimeAsset, direction: 'up' | 'down'): number | undefined {
  if (asset.kind !== 'battery') return undefined;
  return Math.max(0, direction === 'up' ? asset.storedKwh - asset.minKwh : asset.maxKwh - asset.storedKwh);
}

/** The asset as `dispatch()` sees it for a request in `direction`. */
export function toDispatchAsset(asset: RuntimeAsset, direction: 'up' | 'down', online = true): DispatchAsset {
  const energyKwh = energyLimitKwh(asset, direction);
  return {
    id: asset.id,
    siteId: asset.siteId,
    headroomKw: headroomKw(asset, direction),
    rampKwPerS: asset.rampKwPerS,
    ...(energyKwh === undefined ? {} : { energyKwh }),
    costPerKwh: asset.costPerKwh,
    comfortMargin: asset.comfortMargin,
    online,
  };
}

const round = (x: number, step: number) => Math.round(x / step) * step;

/**
 * The setpoints that move the asset by `changeKw` from its base (+ up), clamped to what it can
 * do, and the change they actually give after rounding to the register's resolution. Fans and
 * batteries go through the asset drivers (control/), in their order.
 */
export function commandsFor(
  asset: RuntimeAsset,
  changeKw: number,
): { commands: SetpointCommand[]; kw: number } {
  if (asset.kind === 'heat_pump') {
    const coast = changeKw > 0;
    return {
      commands: [
        {
          device: asset.device,
          point: asset.setpointPoint,
          value: coast ? asset.coastSetpointC : asset.baseSetpointC,
        },
      ],
      kw: coast ? asset.meanKw : 0,
    };
  }
  if (asset.kind === 'fan') {
    const target = Math.max(0, fanKw(asset, asset.basePct) - changeKw);
    const pct = Math.min(
      asset.maxPct,
      Math.max(asset.minPct, round(speedPctFor(target, asset.ratedKw, asset.law), 0.1)),
    );
    return {
      commands: [{ device: asset.device, point: asset.point, value: pct }],
      kw: baseConsumptionKw(asset) - fanKw(asset, pct),
    };
  }
  // Market sign (+ up = less drawn) to the driver's (+ drawn from the building).
  const cmd = storage124(
    {
      mode: asset.modePoint,
      charge: asset.chargePoint,
      discharge: asset.dischargePoint,
      ...(asset.revertPoint ? { revert: asset.revertPoint } : {}),
    },
    asset.baseKw - changeKw,
    asset.ratedKw,
    asset,
    asset.revertS,
  );
  return {
    commands: cmd.writes.map((w) => ({ device: asset.device, point: w.point, value: w.value })),
    kw: asset.baseKw - cmd.kw,
  };
}

/** The setpoints that put the asset back on its base operating point. */
export function baseCommands(asset: RuntimeAsset): SetpointCommand[] {
  return commandsFor(asset, 0).commands;
}

/**
 * Energy to make up after delivering `deliveredKwh` up (a battery recharges what it gave, plus
 * losses); a fan that ran slower owes nothing.
 */
export function owedKwh(asset: RuntimeAsset, deliveredKwh: number): number {
  if (asset.kind !== 'battery' || deliveredKwh <= 0) return 0;
  return deliveredKwh / asset.roundTripEfficiency;
}
