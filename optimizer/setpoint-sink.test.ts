import { describe, expect, it } from 'vitest';
import { AssetSchema, type PvAsset } from '../model/index.js';
import { parseProblem } from './problem.js';
import type { Plan } from './replan.js';
import { plannedCurtailKw, pvSetpoints } from './setpoint-sink.js';

const pvAsset = (id: string, kwp: number, bound = true): PvAsset =>
  AssetSchema.parse({
    id,
    type: 'pv',
    kwp,
    inverterKw: kwp,
    control: bound ? { limit_pct: `s/${id}/limit_pct`, limit_enable: `s/${id}/limit_enable` } : {},
  }) as PvAsset;

/** A one-slot plan: `pvKw` available, the site's flows as given, at these prices. */
function plan(o: {
  pvKw: number;
  pvUsedKw: number;
  importKw?: number;
  exportKw?: number;
  importPrice?: number;
  exportPrice?: number;
  exportLimitKw?: number;
}): Plan {
  const problem = parseProblem({
    prices: { import: [o.importPrice ?? 0.25], export: [o.exportPrice ?? 0.08] },
    grid: o.exportLimitKw === undefined ? {} : { exportLimitKw: o.exportLimitKw },
    baseLoadKw: [2],
    pvKw: [o.pvKw],
  });
  return {
    slot: 0,
    source: 'solved',
    result: null,
    request: { slot: 0, problem },
    schedule: {
      importKw: [o.importKw ?? 0],
      exportKw: [o.exportKw ?? 0],
      pvUsedKw: [o.pvUsedKw],
      assets: {},
    },
  };
}

const all = () => true;

describe('PV curtailment the live loop dispatches', () => {
  it('curtails only where a kWh of PV is worth less than nothing', () => {
    // Exporting at a negative price.
    expect(plannedCurtailKw(plan({ pvKw: 20, pvUsedKw: 2, exportPrice: -0.01 }), 0)).toBeCloseTo(18, 9);
    // Importing at a negative price (a plan that curtails to import more).
    expect(
      plannedCurtailKw(
        plan({ pvKw: 20, pvUsedKw: 0, importKw: 2, importPrice: -0.02, exportPrice: -0.03 }),
        0,
      ),
    ).toBeCloseTo(20, 9);
    // Export at its limit, even when feed-in pays.
    expect(
      plannedCurtailKw(
        plan({ pvKw: 20, pvUsedKw: 12, exportKw: 10, exportLimitKw: 10, exportPrice: 0.08 }),
        0,
      ),
    ).toBeCloseTo(8, 9);
    // A tie (feed-in at exactly 0) or a curtailment below 0.1 kW: the PV runs.
    expect(plannedCurtailKw(plan({ pvKw: 20, pvUsedKw: 2, exportPrice: 0 }), 0)).toBe(0);
    expect(plannedCurtailKw(plan({ pvKw: 20, pvUsedKw: 19.95, exportPrice: -0.01 }), 0)).toBe(0);
  });

  it('splits the curtailment over the bound inverters by kWp, and says what they cannot take', () => {
    const p = plan({ pvKw: 20, pvUsedKw: 2, exportPrice: -0.01 });
    // Two bound inverters, 10 and 30 kWp: 5 and 15 kW available, 18 kW curtailed in 1:3.
    const two = pvSetpoints(p, 0, [pvAsset('a', 10), pvAsset('b', 30)], all);
    expect(two.map((s) => [s.assetId, s.kw, s.shortKw])).toEqual([
      ['a', expect.closeTo(-0.5, 9), undefined],
      ['b', expect.closeTo(-1.5, 9), undefined],
    ]);
    // One of them cannot be commanded (no binding): the bound one goes to 0, 3 kW are left over.
    const one = pvSetpoints(p, 0, [pvAsset('a', 10, false), pvAsset('b', 30)], (id) => id === 'b');
    expect(one).toEqual([{ assetId: 'b', type: 'pv', kw: -0, shortKw: expect.closeTo(3, 9) }]);
    // Nothing curtailed: every bound inverter is handed back.
    expect(pvSetpoints(plan({ pvKw: 20, pvUsedKw: 20 }), 0, [pvAsset('a', 10)], all)).toEqual([
      { assetId: 'a', type: 'pv', kw: -10, release: true },
    ]);
    // Not curtailable, or not bound: no setpoint at all.
    const fixed = { ...pvAsset('a', 10), curtailable: false };
    expect(pvSetpoints(p, 0, [fixed], all)).toEqual([]);
    expect(pvSetpoints(p, 0, [pvAsset('a', 10)], () => false)).toEqual([]);
  });
});
