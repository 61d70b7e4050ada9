import type { Layout } from './build.js';
import type { Problem } from './problem.js';

/** What each asset does, slot by slot (powers in kW; trajectories have T+1 points from the initial state). */
export type AssetSchedule =
  | { type: 'battery'; chargeKw: number[]; dischargeKw: number[]; socKwh: number[] }
  | { type: 'shiftable' | 'ev'; powerKw: number[] }
  | { type: 'sheddable'; shedKw: number[]; powerKw: number[] }
  | { type: 'thermal'; powerKw: number[]; temperatureC: number[] };

/** A site plan: grid flows, PV use and every asset's setpoints, one value per slot. */
export interface Schedule {
  importKw: number[];
  exportKw: number[];
  pvUsedKw: number[];
  assets: Record<string, AssetSchedule>;
  /**
   * Per reservation id (only when the problem has reservations): the kW each asset holds per
   * slot, up and down.
   */
  reserves?: Record<string, ReserveSchedule>;
}

export interface ReserveSchedule {
  upKw: Record<string, number[]>;
  downKw: Record<string, number[]>;
}

/** Reads a schedule out of an LP solution. */
export function extractSchedule(p: Problem, layout: Layout, x: ArrayLike<number>): Schedule {
  const v = (c: number | null) => (c === null ? 0 : (x[c] ?? 0));
  const assets: Record<string, AssetSchedule> = {};
  for (const a of p.assets) {
    const cols = layout.assets.get(a.id)!;
    switch (cols.type) {
      case 'battery':
        if (a.type !== 'battery') break;
        assets[a.id] = {
          type: 'battery',
          chargeKw: cols.charge.map(v),
          dischargeKw: cols.discharge.map(v),
          socKwh: socPath(a.initialKwh, cols.soc, x),
        };
        break;
      case 'shiftable':
      case 'ev':
        assets[a.id] = { type: cols.type, powerKw: cols.power.map(v) };
        break;
      case 'sheddable': {
        if (a.type !== 'sheddable') break;
        const shedKw = cols.shed.map(v);
        const base = (t: number) =>
          typeof a.baselineKw === 'number' ? a.baselineKw : (a.baselineKw[t] ?? 0);
        assets[a.id] = { type: 'sheddable', shedKw, powerKw: shedKw.map((s, t) => base(t) - s) };
        break;
      }
      case 'thermal':
        if (a.type !== 'thermal') break;
        assets[a.id] = {
          type: 'thermal',
          powerKw: cols.power.map(v),
          temperatureC: [a.initialC, ...cols.temp.map(v)],
        };
        break;
    }
  }
  const schedule: Schedule = {
    importKw: layout.import.map(v),
    exportKw: layout.export.map(v),
    pvUsedKw: layout.pvUsed.map(v),
    assets,
  };
  if (p.reservations) {
    const byAsset = (m: Map<string, (number | null)[]>) =>
      Object.fromEntries([...m].map(([id, cols]) => [id, cols.map(v)]));
    schedule.reserves = Object.fromEntries(
      [...layout.reserves].map(([id, r]) => [id, { upKw: byAsset(r.up), downKw: byAsset(r.down) }]),
    );
  }
  return schedule;
}

/** The energy at every slot boundary; inside a coarse block, linear between its ends. */
function socPath(initial: number, cols: readonly (number | null)[], x: ArrayLike<number>): number[] {
  const path = [initial, ...cols.map((c) => (c === null ? Number.NaN : (x[c] ?? 0)))];
  let k0 = 0;
  for (let k = 1; k < path.length; k++) {
    if (Number.isNaN(path[k])) continue;
    for (let j = k0 + 1; j < k; j++) path[j] = path[k0]! + ((path[k]! - path[k0]!) * (j - k0)) / (k - k0);
    k0 = k;
  }
  return path;
}
