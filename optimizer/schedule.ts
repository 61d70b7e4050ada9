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
          socKwh: [a.initialKwh, ...cols.soc.map(v)],
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
