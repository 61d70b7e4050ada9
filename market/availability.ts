import type { Product } from './product.js';

// The headroom shape is shared with the optimiser (control/headroom.ts owns it).
export {
  type AssetHeadroom,
  AssetHeadroomSchema,
  type HeadroomPlan,
  HeadroomPlanSchema,
} from '../control/headroom.js';

import type { AssetHeadroom, HeadroomPlan } from '../control/headroom.js';

/** Which limit bounds an asset's offer: reported so an operator sees why a figure is low. */
export type Limit = 'power' | 'energy' | 'comfort' | 'shed_duration' | 'horizon' | 'none';

export interface AssetAvailability {
  id: string;
  upKw: number;
  downKw: number;
  upLimitedBy: Limit;
  downLimitedBy: Limit;
}
export interface SiteAvailability {
  siteId: string;
  upKw: number;
  downKw: number;
  /** What the site holds both ways at once: min(up, down). */
  symmetricKw: number;
  assets: AssetAvailability[];
}
export interface SlotAvailability {
  startMs: number;
  endMs: number;
  upKw: number;
  downKw: number;
  symmetricKw: number;
  sites: SiteAvailability[];
}
export interface Availability {
  productId: string;
  /** How long each figure can be held: the product's full-activation time plus its minimum duration. */
  sustainMs: number;
  slots: SlotAvailability[];
}

const H = 3_600_000;

/**
 * How many kW each asset, site and the portfolio can move up and down per slot for `product`,
 * such that an activation starting at **any** moment of the slot can be held for the product's
 * full-activation time plus minimum duration (full power from the request is assumed, which
 * over-counts the ramp's energy: conservative). The plan keeps running underneath; a reserve
 * whose window would run past the plan's horizon is not offered.
 */
export function availability(plan: HeadroomPlan, product: Product): Availability {
  const sustainMs = product.fullActivation + product.minDuration;
  const slots: SlotAvailability[] = [];
  for (let i = 0; i < plan.slots; i++) {
    const sites = plan.sites.map((site): SiteAvailability => {
      const assets = site.assets.map((asset) => assetAvailability(plan, asset, i, sustainMs));
      const upKw = sum(assets.map((a) => a.upKw));
      const downKw = sum(assets.map((a) => a.downKw));
      return { siteId: site.siteId, upKw, downKw, symmetricKw: Math.min(upKw, downKw), assets };
    });
    slots.push({
      startMs: plan.startMs + i * plan.slotMs,
      endMs: plan.startMs + (i + 1) * plan.slotMs,
      upKw: sum(sites.map((s) => s.upKw)),
      downKw: sum(sites.map((s) => s.downKw)),
      symmetricKw: sum(sites.map((s) => s.symmetricKw)),
      sites,
    });
  }
  return { productId: product.id, sustainMs, slots };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The smaller of two bounds, remembering which one binds. */
function bound(a: [number, Limit], b: [number, Limit]): [number, Limit] {
  return b[0] < a[0] ? b : a;
}

function assetAvailability(
  plan: HeadroomPlan,
  asset: AssetHeadroom,
  i: number,
  sustainMs: number,
): AssetAvailability {
  // Slots an activation starting anywhere in slot i can reach.
  const lastSlot = Math.ceil(((i + 1) * plan.slotMs + sustainMs) / plan.slotMs) - 1;
  if (lastSlot >= plan.slots)
    return { id: asset.id, upKw: 0, downKw: 0, upLimitedBy: 'horizon', downLimitedBy: 'horizon' };
  const window = (values: number[]) => values.slice(i, lastSlot + 1);
  const hours = sustainMs / H;
  let up: [number, Limit];
  let down: [number, Limit];
  switch (asset.kind) {
    case 'battery': {
      const planned = window(asset.plannedKw);
      up = [Math.min(...planned.map((p) => asset.maxDischargeKw - p)), 'power'];
      down = [Math.min(...planned.map((p) => asset.maxChargeKw + p)), 'power'];
      const energy = batteryEnergyLimits(plan, asset, i, sustainMs);
      up = bound(up, [energy.up, 'energy']);
      down = bound(down, [energy.down, 'energy']);
      break;
    }
    case 'thermal': {
      const planned = window(asset.plannedKw);
      up = bound([Math.min(...planned), 'power'], [asset.upKwh[i]! / hours, 'comfort']);
      down = bound(
        [Math.min(...planned.map((p) => asset.maxKw - p)), 'power'],
        [asset.downKwh[i]! / hours, 'comfort'],
      );
      break;
    }
    case 'sheddable': {
      const tooLong = asset.maxShedMinutes !== undefined && sustainMs > asset.maxShedMinutes * 60_000;
      up = tooLong
        ? [0, 'shed_duration']
        : [Math.min(...window(asset.plannedKw).map((p) => Math.min(p, asset.maxShedKw))), 'power'];
      down = [0, 'power'];
      break;
    }
  }
  const clip = ([value, limit]: [number, Limit]): [number, Limit] => [Math.max(0, value), limit];
  const [upKw, upLimitedBy] = clip(up);
  const [downKw, downLimitedBy] = clip(down);
  return { id: asset.id, upKw, downKw, upLimitedBy, downLimitedBy };
}

type Battery = Extract<AssetHeadroom, { kind: 'battery' }>;

/**
 * The largest constant extra discharge (up) and charge (down) a battery can hold for
 * `sustainMs` from any moment of slot i without leaving [minKwh, maxKwh], on top of its plan.
 *
 * One kW of reserve for one hour is taken to move 1/ηd kWh of stored energy in either
 * direction: the larger of the two possibilities (extra discharge costs 1/ηd, less charging ηc;
 * less discharge saves 1/ηd, extra charging ηc), so the figure never over-promises.
 *
 * The planned stored energy is piecewise linear with breakpoints at slot boundaries, so the
 * worst start times are the slot's ends and the moments whose window ends on a breakpoint, and
 * the worst point of each window is a breakpoint or its end.
 */
function batteryEnergyLimits(plan: HeadroomPlan, b: Battery, i: number, sustainMs: number) {
  const stored = b.storedKwh ? [...b.storedKwh] : [b.initialKwh];
  if (!b.storedKwh)
    for (const p of b.plannedKw) {
      const h = plan.slotMs / H;
      stored.push(stored.at(-1)! + (p > 0 ? (-p * h) / b.dischargeEfficiency : -p * h * b.chargeEfficiency));
    }
  const storedAt = (t: number) => {
    const k = Math.min(Math.floor(t / plan.slotMs), plan.slots - 1);
    const frac = (t - k * plan.slotMs) / plan.slotMs;
    return stored[k]! + (stored[k + 1]! - stored[k]!) * frac;
  };
  const breakpoints = stored.map((_, k) => k * plan.slotMs);
  const s = i * plan.slotMs;
  const e = (i + 1) * plan.slotMs;
  const starts = [s, e, ...breakpoints.map((t) => t - sustainMs).filter((t) => t > s && t < e)];
  let up = Number.POSITIVE_INFINITY;
  let down = Number.POSITIVE_INFINITY;
  for (const t of starts) {
    // A plan already outside the bounds at the start leaves nothing to offer that way.
    if (storedAt(t) < b.minKwh) up = 0;
    if (storedAt(t) > b.maxKwh) down = 0;
    const ends = [t + sustainMs, ...breakpoints.filter((x) => x > t && x < t + sustainMs)];
    for (const tau of ends) {
      const hours = (tau - t) / H;
      up = Math.min(up, ((storedAt(tau) - b.minKwh) * b.dischargeEfficiency) / hours);
      down = Math.min(down, ((b.maxKwh - storedAt(tau)) * b.dischargeEfficiency) / hours);
    }
  }
  return { up, down };
}
