import { z } from 'zod';
import { IdSchema } from '../model/index.js';

/** An asset's state for signal dispatch, in the direction requested (all figures ≥ 0). */
export const DispatchAssetSchema = z.object({
  id: IdSchema,
  siteId: IdSchema,
  /** Most this asset can move in the requested direction now, kW. */
  headroomKw: z.number().nonnegative(),
  rampKwPerS: z.number().positive(),
  /** Energy it can give that way before a limit (state of charge, comfort band); absent = no limit. */
  energyKwh: z.number().nonnegative().optional(),
  /** Cost of delivering one kWh (lost comfort, battery wear, opportunity), any consistent unit. */
  costPerKwh: z.number().nonnegative(),
  /** 0 = at its comfort edge, 1 = far from it. At equal cost the asset with more margin goes first. */
  comfortMargin: z.number().min(0).max(1).default(1),
  online: z.boolean().default(true),
});
export type DispatchAsset = z.infer<typeof DispatchAssetSchema>;

export const DispatchRequestSchema = z.object({
  /** Change requested, kW, in the direction the assets' figures describe. */
  requestKw: z.number().nonnegative(),
  /** How long it must be held, ms. */
  durationMs: z.number().int().positive(),
  /** Time left to reach it (the product's full-activation time, less what has passed), ms. */
  withinMs: z.number().int().nonnegative(),
});
export type DispatchRequest = z.infer<typeof DispatchRequestSchema>;

export interface Allocation {
  id: string;
  siteId: string;
  kw: number;
}

export interface DispatchResult {
  allocations: Allocation[];
  allocatedKw: number;
  shortfallKw: number;
  /** Assets left out, and why. */
  excluded: { id: string; reason: 'offline' | 'no_capacity' }[];
}

/**
 * Merit order: cheapest first; at equal cost the one further from its comfort edge, then the
 * faster ramp, then the larger energy reserve; the id last so the order is deterministic.
 */
export function meritOrder(assets: DispatchAsset[]): DispatchAsset[] {
  return [...assets].sort(
    (a, b) =>
      a.costPerKwh - b.costPerKwh ||
      b.comfortMargin - a.comfortMargin ||
      b.rampKwPerS - a.rampKwPerS ||
      (b.energyKwh ?? Number.POSITIVE_INFINITY) - (a.energyKwh ?? Number.POSITIVE_INFINITY) ||
      a.id.localeCompare(b.id),
  );
}

/** What an asset can hold for the whole duration: headroom, capped by its energy. */
function sustainableKw(asset: DispatchAsset, durationMs: number): number {
  const byEnergy =
    asset.energyKwh === undefined ? Number.POSITIVE_INFINITY : asset.energyKwh / (durationMs / 3_600_000);
  return Math.min(asset.headroomKw, byEnergy);
}

/**
 * Split `request.requestKw` across assets in merit order. Each asset gets at most what it can
 * sustain for the duration and reach by its ramp within `withinMs`.
 *
 * `keep` holds allocations already being delivered (re-dispatch after an asset dropped out or
 * under-delivered): online assets keep theirs (capped to what they can still sustain), and the
 * shortfall is filled from the others' remaining capacity, with only the *additional* power
 * subject to the ramp deadline. Dropped assets are simply marked offline by the caller.
 */
export function dispatch(
  request: DispatchRequest,
  assets: DispatchAsset[],
  keep: Allocation[] = [],
): DispatchResult {
  const kept = new Map(keep.map((a) => [a.id, a.kw]));
  const excluded: DispatchResult['excluded'] = [];
  const plan = new Map<string, { asset: DispatchAsset; kw: number; room: number }>();
  for (const asset of meritOrder(assets)) {
    if (!asset.online) {
      excluded.push({ id: asset.id, reason: 'offline' });
      continue;
    }
    const cap = sustainableKw(asset, request.durationMs);
    const base = Math.min(kept.get(asset.id) ?? 0, cap);
    const room = Math.max(0, Math.min(cap - base, (asset.rampKwPerS * request.withinMs) / 1000));
    if (base <= 0 && room <= 0) {
      excluded.push({ id: asset.id, reason: 'no_capacity' });
      continue;
    }
    plan.set(asset.id, { asset, kw: base, room });
  }
  let need = request.requestKw - [...plan.values()].reduce((a, p) => a + p.kw, 0);
  // More kept than now requested (the request fell): shed the most expensive first.
  for (const p of [...plan.values()].reverse()) {
    if (need >= 0) break;
    const cut = Math.min(p.kw, -need);
    p.kw -= cut;
    need += cut;
  }
  for (const p of plan.values()) {
    if (need <= 0) break;
    const add = Math.min(p.room, need);
    p.kw += add;
    need -= add;
  }
  const allocations = [...plan.values()]
    .filter((p) => p.kw > 0)
    .map((p) => ({ id: p.asset.id, siteId: p.asset.siteId, kw: p.kw }));
  const allocatedKw = allocations.reduce((a, x) => a + x.kw, 0);
  return { allocations, allocatedKw, shortfallKw: Math.max(0, request.requestKw - allocatedKw), excluded };
}

export const RestoreInputSchema = z.object({
  startMs: z.number().int(),
  slotMs: z.number().int().positive(),
  /** Site import per slot without the restore, kW. */
  siteLoadKw: z.array(z.number()),
  /** Import limit of the grid connection, kW. */
  gridLimitKw: z.number().positive(),
  /** Cap on all restoring together (keeps the rebound below a peak); absent = the grid limit alone. */
  maxReboundKw: z.number().nonnegative().optional(),
  assets: z.array(
    z.object({
      id: IdSchema,
      /** Energy to make up (battery recharge, reheat), kWh at the meter. */
      energyKwh: z.number().nonnegative(),
      maxKw: z.number().positive(),
      /** Lower restores first (e.g. the zone closest to its comfort edge). */
      priority: z.number().default(0),
    }),
  ),
});
export type RestoreInput = z.infer<typeof RestoreInputSchema>;

export interface RestoreSchedule {
  slots: { startMs: number; siteKw: number; assets: Record<string, number> }[];
  /** Energy that did not fit before the horizon ended, per asset. */
  unrestoredKwh: Record<string, number>;
}

/**
 * After an activation, put the energy back without a rebound peak: per slot, the room left
 * under the grid limit (and the rebound cap) goes to the assets in priority order, each at most
 * its power and what it still owes. A slot already over the limit gets nothing.
 */
export function restoreSchedule(input: RestoreInput): RestoreSchedule {
  const hours = input.slotMs / 3_600_000;
  const owed = new Map(input.assets.map((a) => [a.id, a.energyKwh]));
  const order = [...input.assets].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
  const slots = input.siteLoadKw.map((loadKw, i) => {
    let room = Math.max(
      0,
      Math.min(input.gridLimitKw - loadKw, input.maxReboundKw ?? Number.POSITIVE_INFINITY),
    );
    const assets: Record<string, number> = {};
    for (const a of order) {
      const kw = Math.min(a.maxKw, owed.get(a.id)! / hours, room);
      if (kw <= 0) continue;
      assets[a.id] = kw;
      owed.set(a.id, owed.get(a.id)! - kw * hours);
      room -= kw;
    }
    const restoring = Object.values(assets).reduce((x, y) => x + y, 0);
    return { startMs: input.startMs + i * input.slotMs, siteKw: loadKw + restoring, assets };
  });
  const unrestoredKwh: Record<string, number> = {};
  for (const [id, kwh] of owed) if (kwh > 1e-9) unrestoredKwh[id] = kwh;
  return { slots, unrestoredKwh };
}
