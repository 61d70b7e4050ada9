import { describe, expect, it } from 'vitest';
import { buildLp } from './build.js';
import { SOLVERS } from './index.js';
import { parseProblem } from './problem.js';

const small = parseProblem({
  slotMinutes: 60,
  prices: { import: [0.1, 0.3], export: [0, 0] },
  baseLoadKw: [1, 1],
  pvKw: [0, 0],
  peakChargePerKw: 0.1,
  assets: [
    { type: 'battery', id: 'b1', capacityKwh: 4, maxChargeKw: 2, maxDischargeKw: 2, initialKwh: 0 },
    { type: 'shiftable', id: 'pool', maxKw: 1, energyKwh: 1 },
  ],
});

describe('LP builder', () => {
  it('names every column and row by family and slot, in creation order', () => {
    const { lp } = buildLp(small);
    expect(lp.colNames).toEqual([
      'grid.import[0]',
      'grid.import[1]',
      'grid.export[0]',
      'grid.export[1]',
      'pv.used[0]',
      'pv.used[1]',
      'battery[b1].charge[0]',
      'battery[b1].charge[1]',
      'battery[b1].discharge[0]',
      'battery[b1].discharge[1]',
      'battery[b1].soc[1]',
      'battery[b1].soc[2]',
      'shiftable[pool].power[0]',
      'shiftable[pool].power[1]',
      'grid.peak',
    ]);
    expect(lp.rowNames).toEqual([
      'battery[b1].energy[1]',
      'battery[b1].energy[2]',
      'shiftable[pool].energy',
      'grid.peak[0]',
      'grid.peak[1]',
      'balance[0]',
      'balance[1]',
    ]);
    expect(lp.colNames).toHaveLength(lp.numCols);
  });

  it('leaves the names out of a model posted to a solver thread, which solves it the same', async () => {
    const { lp } = buildLp(small);
    const copy = structuredClone(lp);
    expect('colNames' in copy).toBe(false);
    const [a, b] = await Promise.all([SOLVERS.highs.solve(lp), SOLVERS.highs.solve(copy)]);
    expect(b.status).toBe('optimal');
    expect(b.objective).toBeCloseTo(a.objective!, 12);
  });
});
