import { z } from 'zod';
import { IdSchema, PointKeySchema } from './ids.js';

const kw = z.number().nonnegative();
const positive = z.number().positive();

/**
 * Points that measure or control an asset, by point key. The optimiser reads state from
 * `measure` points and sends setpoints to `control` points through the gateway's safety layer.
 */
const BindingSchema = z.record(z.string(), PointKeySchema).default({});

/**
 * The command lease: how long a device keeps a command without a new write before it returns
 * to its own control (its fail-safe). Gridflex writes `revertS` to the asset's `revert_timeout`
 * binding with each command, so if the controller dies the device is back on its own within
 * that time; without the binding, `revertS` says what the installer set on the device. Either
 * way every writer renews the lease before it lapses.
 */
export const LeaseSchema = z.object({
  /**
   * Fail-safe timeout, s (SunSpec InOutWRte_RvrtTms / WMaxLimPct_RvrtTms are uint16). At least
   * 45: the live optimiser checks its setpoints every 20 s and renews a lease once half of it
   * has passed, so a shorter one could lapse between two checks.
   */
  revertS: z.number().int().min(45).max(65535),
});

const base = {
  id: IdSchema,
  name: z.string().min(1).optional(),
  measure: BindingSchema,
  control: BindingSchema,
  lease: LeaseSchema.optional(),
};

/** A battery's physics, one description for the model's asset and the simulator's device. */
export const batteryFields = {
  capacityKwh: positive,
  maxChargeKw: kw,
  maxDischargeKw: kw,
  chargeEfficiency: z.number().gt(0).max(1).default(0.95),
  dischargeEfficiency: z.number().gt(0).max(1).default(0.95),
  minSocPct: z.number().min(0).max(100).default(10),
  maxSocPct: z.number().min(0).max(100).default(100),
};

export const BatteryAssetSchema = z.object({
  ...base,
  type: z.literal('battery'),
  ...batteryFields,
});

export const ShiftableLoadAssetSchema = z.object({
  ...base,
  type: z.literal('shiftable'),
  maxKw: positive,
  /** Energy per run, e.g. a dishwasher cycle or a daily pool filtration. */
  energyKwh: positive,
});

export const SheddableLoadAssetSchema = z.object({
  ...base,
  type: z.literal('sheddable'),
  /** Typical consumption when not shed. */
  nominalKw: positive,
  maxShedFraction: z.number().min(0).max(1),
  /** Longest continuous shed the occupants accept. */
  maxShedMinutes: z.number().int().positive().optional(),
  costPerKwh: z.number().nonnegative().default(0),
  /** Draw at 100 % speed (a `speed` binding), kW; absent: `nominalKw`. */
  ratedKw: positive.optional(),
  /** How the draw follows the speed: fans and pumps by the cube of it (affinity laws). */
  speedLaw: z.enum(['cubic', 'linear']).default('cubic'),
  /**
   * The speed range a `speed` binding may be commanded within, % (the drive's or the
   * ventilation's limits). The market raises a fan's speed (a "down" activation: more
   * consumption) only up to `maxSpeedPct`; without it a fan is only slowed.
   */
  minSpeedPct: z.number().min(0).max(100).optional(),
  maxSpeedPct: z.number().min(0).max(100).optional(),
});

export const ThermalZoneAssetSchema = z.object({
  ...base,
  type: z.literal('thermal'),
  /** Heat pump electrical power limit. */
  maxKw: positive,
  cop: positive,
  /** Thermal capacitance C, kWh per kelvin. */
  capacitanceKwhPerK: positive,
  /** Thermal resistance R to outdoors, kelvin per kW. */
  resistanceKPerKw: positive,
  minC: z.number(),
  maxC: z.number(),
  /**
   * The zone thermostat's switching band, K: with a `setpoint` binding the pump heats below
   * setpoint − hysteresisC/2 and stops above setpoint + hysteresisC/2 (default 1 K).
   */
  hysteresisC: z.number().nonnegative().default(1),
});

export const EvChargerAssetSchema = z.object({
  ...base,
  type: z.literal('ev_charger'),
  maxKw: positive,
  minKw: kw.default(0),
});

export const PvAssetSchema = z.object({
  ...base,
  type: z.literal('pv'),
  kwp: positive,
  inverterKw: positive,
  /** Whether the inverter accepts an active-power limit (curtailment). */
  curtailable: z.boolean().default(true),
});

/**
 * The control bindings each asset type understands (`control.<name>` → point key); the
 * drivers in control/ turn a desired power into writes to them. Data, so a new device is a
 * binding in the configuration, not code.
 * - battery: `power` (W, + charging), or SunSpec model 124 `mode` (StorCtl_Mod), `charge_rate`
 *   (InWRte), `discharge_rate` (OutWRte), optionally `revert_timeout` (InOutWRte_RvrtTms, s);
 * - ev_charger: `power` (W);
 * - thermal: `power` (W), `enable` (1 on, 0 off) or `setpoint` (the zone thermostat's °C);
 * - sheddable: `speed` (%) or `enable` (1 on, 0 off);
 * - pv: `limit_pct` (SunSpec 123 WMaxLimPct, % of `inverterKw`) with optional `limit_enable`
 *   (WMaxLim_Ena) and `revert_timeout` (WMaxLimPct_RvrtTms, s), or `power_limit` (W);
 * - shiftable: `start` (1 starts a run).
 */
export const CONTROL_BINDINGS = {
  battery: ['power', 'mode', 'charge_rate', 'discharge_rate', 'revert_timeout'],
  ev_charger: ['power'],
  thermal: ['power', 'enable', 'setpoint'],
  sheddable: ['speed', 'enable'],
  pv: ['limit_pct', 'limit_enable', 'revert_timeout', 'power_limit'],
  shiftable: ['start'],
} as const;

export const AssetSchema = z
  .discriminatedUnion('type', [
    BatteryAssetSchema,
    ShiftableLoadAssetSchema,
    SheddableLoadAssetSchema,
    ThermalZoneAssetSchema,
    EvChargerAssetSchema,
    PvAssetSchema,
  ])
  .superRefine((a, ctx) => {
    const known: readonly string[] = CONTROL_BINDINGS[a.type];
    for (const name of Object.keys(a.control))
      if (!known.includes(name))
        ctx.addIssue({
          code: 'custom',
          path: ['control', name],
          message: `a ${a.type} has no control binding "${name}" (known: ${known.join(', ')})`,
        });
    if (a.type === 'battery' && a.minSocPct >= a.maxSocPct) {
      ctx.addIssue({ code: 'custom', path: ['maxSocPct'], message: 'maxSocPct must be above minSocPct' });
    }
    if (a.type === 'thermal' && a.minC >= a.maxC) {
      ctx.addIssue({ code: 'custom', path: ['maxC'], message: 'maxC must be above minC (the comfort band)' });
    } else if (a.type === 'thermal' && a.control.setpoint && a.maxC - a.minC < a.hysteresisC) {
      ctx.addIssue({
        code: 'custom',
        path: ['hysteresisC'],
        message: 'the thermostat band must fit in the comfort band (maxC − minC) to keep the zone inside it',
      });
    }
    if (a.type === 'sheddable' && (a.minSpeedPct ?? 0) > (a.maxSpeedPct ?? 100)) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxSpeedPct'],
        message: 'maxSpeedPct must be at least minSpeedPct',
      });
    }
    if (a.type === 'ev_charger' && a.minKw > a.maxKw) {
      ctx.addIssue({ code: 'custom', path: ['minKw'], message: 'minKw must not exceed maxKw' });
    }
  });
export type Asset = z.infer<typeof AssetSchema>;
export type AssetType = Asset['type'];
export type PvAsset = Extract<Asset, { type: 'pv' }>;
