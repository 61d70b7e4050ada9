import type { Asset, WriteRequest } from '../model/index.js';

/**
 * One driver per asset type: a desired power → the point writes that command it over the
 * asset's `control` bindings (model/asset.ts `CONTROL_BINDINGS`), and the asset's state read
 * back from its `measure` bindings. Pure: the caller sends the writes through the write port
 * (the gateway's safety layer), in the order given.
 *
 * Sign convention, for every asset: `kw` is the asset's electrical power at its terminals,
 * positive when it draws from the building (charging, consuming), negative when it feeds the
 * building (discharging, generating). A PV inverter is commanded by a negative `kw`: the most
 * it may generate.
 */

/** One write, by point key (`site/device/point`) or, for a caller that knows the device, a point id. */
export interface PointWrite {
  point: string;
  value: number;
}

/** What a driver asks for: writes in order, the power they give after rounding, or why none. */
export interface Command {
  writes: PointWrite[];
  /** Power the written values command, kW (same sign convention). */
  kw: number;
  /** Set when the asset cannot be commanded (no usable binding); `writes` is then empty. */
  missing?: string;
}

/** Rounded so the read-back compares equal and the audit log stays readable. */
const round = (x: number, digits: number) => Number(x.toFixed(digits));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const none = (missing: string): Command => ({ writes: [], kw: 0, missing });

/** The points of a SunSpec model 124 storage control, by key or id. */
export interface Storage124Points {
  /** StorCtl_Mod: bit 0 enables the charge limit InWRte, bit 1 the discharge limit OutWRte. */
  mode: string;
  /** InWRte, % of WChaMax. */
  charge: string;
  /** OutWRte, % of WChaMax. */
  discharge: string;
  /** InOutWRte_RvrtTms, s: the device drops the rates after this long without a write. */
  revert?: string;
}

/** StorCtl_Mod with both limits enforced: the controller owns the battery. */
export const STORCTL_BOTH = 3;
/** StorCtl_Mod with no limit: the battery is back under its own control. */
export const STORCTL_NONE = 0;

/**
 * SunSpec model 124, settled once for Gridflex (the simulator reads it the same way):
 * StorCtl_Mod = 3 (both bits: charge and discharge limit enforced), the rate in the wanted
 * direction = |kw| / WChaMax in %, the other rate 0. Read as the specification's limits this
 * is "charge at most x, discharge not at all" (or the reverse); read as setpoints, as many
 * vendors and the simulator do, it is "charge at x". Either way the battery never runs in the
 * opposite direction.
 *
 * Order: the revert timeout first (the lease covers what follows), then the rate that falls
 * to zero, then the other rate, then the mode last. Every intermediate state lies between the
 * old and the new power (never charging and discharging at once, never on an old rate in a
 * new mode); a battery handed back with mode 0 is taken over in one step when the mode is
 * written. `revertS` is only written when given and bound.
 */
export function storage124(
  p: Storage124Points,
  kw: number,
  wChaMaxKw: number,
  limits: { maxChargeKw: number; maxDischargeKw: number },
  revertS?: number,
): Command {
  const target = clamp(kw, -limits.maxDischargeKw, limits.maxChargeKw);
  const chargePct = round(clamp((Math.max(0, target) / wChaMaxKw) * 100, 0, 100), 2);
  const dischargePct = round(clamp((Math.max(0, -target) / wChaMaxKw) * 100, 0, 100), 2);
  const charge = { point: p.charge, value: chargePct };
  const discharge = { point: p.discharge, value: dischargePct };
  return {
    writes: [
      ...(p.revert && revertS !== undefined ? [{ point: p.revert, value: revertS }] : []),
      ...(target >= 0 ? [discharge, charge] : [charge, discharge]),
      { point: p.mode, value: STORCTL_BOTH },
    ],
    kw: ((chargePct - dischargePct) / 100) * wChaMaxKw,
  };
}

/** Speed (%) that makes a fan or pump draw `kw` of its `ratedKw` at 100 %. */
export function speedPctFor(kw: number, ratedKw: number, law: 'cubic' | 'linear'): number {
  const x = Math.max(0, kw) / ratedKw;
  return 100 * (law === 'cubic' ? Math.cbrt(x) : x);
}

/** Draw (kW) of a fan or pump at `pct` speed. */
export function drawAtSpeed(pct: number, ratedKw: number, law: 'cubic' | 'linear'): number {
  return ratedKw * (law === 'cubic' ? (pct / 100) ** 3 : pct / 100);
}

export interface DriverOptions {
  /** Fail-safe lease written with each command where the asset binds a revert timeout, s. */
  revertS?: number;
}

/**
 * The writes that command `asset` to `kw` (sign convention above), clamped to what it can do.
 * An asset without a usable binding gives no writes and says why.
 */
export function command(asset: Asset, kw: number, o: DriverOptions = {}): Command {
  const c = asset.control;
  switch (asset.type) {
    case 'battery': {
      if (c.power) {
        const w = round(clamp(kw, -asset.maxDischargeKw, asset.maxChargeKw) * 1000, 0);
        return { writes: [{ point: c.power, value: w }], kw: w / 1000 };
      }
      if (c.mode && c.charge_rate && c.discharge_rate)
        return storage124(
          {
            mode: c.mode,
            charge: c.charge_rate,
            discharge: c.discharge_rate,
            ...(c.revert_timeout ? { revert: c.revert_timeout } : {}),
          },
          kw,
          // WChaMax, what the rates are percentages of.
          asset.maxChargeKw,
          asset,
          o.revertS,
        );
      return none('no control binding `power` or `mode`/`charge_rate`/`discharge_rate`');
    }
    case 'ev_charger': {
      if (!c.power) return none('no control binding `power`');
      // Below its minimum a charger cannot run: it is off.
      const target = kw < asset.minKw ? 0 : Math.min(asset.maxKw, kw);
      const w = round(target * 1000, 0);
      return { writes: [{ point: c.power, value: w }], kw: w / 1000 };
    }
    case 'thermal': {
      if (c.power) {
        const w = round(clamp(kw, 0, asset.maxKw) * 1000, 0);
        return { writes: [{ point: c.power, value: w }], kw: w / 1000 };
      }
      // A zone thermostat: heating is a setpoint at the top of the comfort band, coasting one at
      // the bottom, each half the thermostat's band inside it, so the zone never leaves the band.
      if (c.setpoint) {
        const on = kw >= asset.maxKw / 2;
        const half = asset.hysteresisC / 2;
        return {
          writes: [{ point: c.setpoint, value: round(on ? asset.maxC - half : asset.minC + half, 2) }],
          kw: on ? asset.maxKw : 0,
        };
      }
      // On/off: on when at least half its power is wanted (the slot's mean then comes closest).
      if (c.enable) {
        const on = kw >= asset.maxKw / 2;
        return { writes: [{ point: c.enable, value: on ? 1 : 0 }], kw: on ? asset.maxKw : 0 };
      }
      return none('no control binding `power`, `setpoint` or `enable`');
    }
    case 'sheddable': {
      const minKw = asset.nominalKw * (1 - asset.maxShedFraction);
      const target = clamp(kw, minKw, asset.nominalKw);
      if (c.speed) {
        const rated = asset.ratedKw ?? asset.nominalKw;
        const pct = round(
          clamp(speedPctFor(target, rated, asset.speedLaw), asset.minSpeedPct ?? 0, asset.maxSpeedPct ?? 100),
          1,
        );
        return { writes: [{ point: c.speed, value: pct }], kw: drawAtSpeed(pct, rated, asset.speedLaw) };
      }
      if (c.enable) {
        // Off only when the whole load may be shed and less than half of it is wanted.
        const on = !(asset.maxShedFraction >= 1 && kw < asset.nominalKw / 2);
        return { writes: [{ point: c.enable, value: on ? 1 : 0 }], kw: on ? asset.nominalKw : 0 };
      }
      return none('no control binding `speed` or `enable`');
    }
    case 'pv': {
      if (!asset.curtailable) return none('the inverter is not curtailable');
      const limitKw = clamp(-kw, 0, asset.inverterKw);
      if (c.limit_pct) {
        const pct = round((limitKw / asset.inverterKw) * 100, 1);
        return {
          writes: [
            ...(c.revert_timeout && o.revertS !== undefined
              ? [{ point: c.revert_timeout, value: o.revertS }]
              : []),
            { point: c.limit_pct, value: pct },
            ...(c.limit_enable ? [{ point: c.limit_enable, value: 1 }] : []),
          ],
          kw: -(pct / 100) * asset.inverterKw,
        };
      }
      if (c.power_limit) {
        const w = round(limitKw * 1000, 0);
        return { writes: [{ point: c.power_limit, value: w }], kw: -w / 1000 };
      }
      return none('no control binding `limit_pct` or `power_limit`');
    }
    case 'shiftable':
      return none('a shiftable load is started, not set to a power (binding `start`)');
  }
}

/**
 * The writes that hand the asset back to its own control (end of a command lease, a clean
 * stop): a SunSpec battery to StorCtl_Mod 0 after both rates are 0, a PV inverter to no limit
 * (WMaxLim_Ena 0, or 100 %, or a `power_limit` of its rating).
 * Assets with a plain setpoint have no "own control" to return to: none.
 */
export function release(asset: Asset): Command {
  const c = asset.control;
  if (asset.type === 'battery' && c.mode && c.charge_rate && c.discharge_rate)
    return {
      writes: [
        { point: c.charge_rate, value: 0 },
        { point: c.discharge_rate, value: 0 },
        { point: c.mode, value: STORCTL_NONE },
      ],
      kw: 0,
    };
  if (asset.type === 'pv' && c.limit_pct)
    return {
      writes: c.limit_enable ? [{ point: c.limit_enable, value: 0 }] : [{ point: c.limit_pct, value: 100 }],
      kw: -asset.inverterKw,
    };
  if (asset.type === 'pv' && c.power_limit)
    return {
      writes: [{ point: c.power_limit, value: round(asset.inverterKw * 1000, 0) }],
      kw: -asset.inverterKw,
    };
  return none(`a ${asset.type} with these bindings has no own control to hand back to`);
}

/** What the measure bindings say about an asset now (absent: not bound or no fresh value). */
export interface AssetState {
  /** Power at its terminals, kW, + drawn from the building. */
  kw?: number;
  /** Battery state of charge, %. */
  socPct?: number;
  /** Zone temperature, °C (thermal). */
  temperatureC?: number;
}

/**
 * The asset's state from the latest values of its `measure` bindings. Inverters (battery, PV)
 * report AC output positive (SunSpec 103 W), so their power is negated into the convention
 * above; meters of loads report consumption positive.
 */
export function readState(asset: Asset, latest: (pointKey: string) => number | undefined): AssetState {
  const m = asset.measure;
  const out: AssetState = {};
  const w = m.power ? latest(m.power) : undefined;
  if (w !== undefined) out.kw = (asset.type === 'battery' || asset.type === 'pv' ? -w : w) / 1000;
  if (asset.type === 'battery' && m.soc) {
    const soc = latest(m.soc);
    if (soc !== undefined) out.socPct = soc;
  }
  if (asset.type === 'thermal' && m.temperature) {
    const t = latest(m.temperature);
    if (t !== undefined) out.temperatureC = t;
  }
  return out;
}

/** `site/device/point` → its parts. */
export function splitPointKey(key: string): { site: string; device: string; point: string } {
  const [site = '', device = '', point = ''] = key.split('/');
  return { site, device, point };
}

/** A command's writes as write-port requests (its points are keys). */
export function toRequests(cmd: Command, who: string, why: string): WriteRequest[] {
  return cmd.writes.map((w) => ({ ...splitPointKey(w.point), value: w.value, who, why }));
}
