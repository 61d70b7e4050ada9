import { describe, expect, it } from 'vitest';
import { SOLVERS } from './index.js';
import { optimize } from './optimize.js';
import { type ProblemInput, parseProblem } from './problem.js';

const quarterHourly = (T: number, fill: Partial<ProblemInput>): ProblemInput => ({
  prices: { import: Array(T).fill(0.2), export: Array(T).fill(0) },
  baseLoadKw: Array(T).fill(1),
  pvKw: Array(T).fill(0),
  ...fill,
});

async function infeasibility(input: ProblemInput, solver: 'highs' | 'jsl' = 'highs') {
  const r = await optimize(parseProblem(input), SOLVERS[solver]);
  expect(r.status).toBe('infeasible');
  expect(r.schedule).toBeNull();
  return r.infeasibility!;
}

describe('infeasibility diagnosis', () => {
  it('names the thermal zone and the slot it cannot reach its comfort band', async () => {
    const minC = Array(16).fill(20);
    for (let t = 12; t < 16; t++) minC[t] = 22;
    const found = await infeasibility(
      quarterHourly(16, {
        assets: [
          {
            type: 'thermal',
            id: 'z1',
            maxKw: 1,
            cop: 3,
            capacitanceKwhPerK: 10,
            resistanceKPerKw: 10,
            initialC: 20,
            outdoorC: 0,
            minC,
            maxC: 25,
          },
        ],
      }),
    );
    expect(found).toMatchObject({ family: 'thermal[z1].temp', asset: 'z1', slot: 12 });
    expect(found.message).toMatch(/^thermal z1 cannot reach minC \(22 °C\) at slot 12/);
  });

  it('names a battery that cannot reach its final energy', async () => {
    const found = await infeasibility(
      quarterHourly(4, {
        assets: [
          {
            type: 'battery',
            id: 'b1',
            capacityKwh: 10,
            maxChargeKw: 2,
            maxDischargeKw: 2,
            initialKwh: 0,
            finalMinKwh: 8,
          },
        ],
      }),
    );
    expect(found).toMatchObject({ family: 'battery[b1].soc', slot: 4 });
    expect(found.message).toContain('cannot reach finalMinKwh (8 kWh) at slot 4');
  });

  it('names a shiftable load whose window is too short for its energy', async () => {
    const found = await infeasibility(
      quarterHourly(8, {
        assets: [{ type: 'shiftable', id: 'dish', maxKw: 2, energyKwh: 3, earliestSlot: 2, deadlineSlot: 6 }],
      }),
      'jsl',
    );
    expect(found).toMatchObject({ family: 'shiftable[dish].energy', asset: 'dish' });
    expect(found.message).toContain('at most 2 kWh');
  });

  it('names the grid import limit and the first slot it is too low, when every asset is feasible alone', async () => {
    const found = await infeasibility(
      quarterHourly(8, {
        baseLoadKw: [1, 1, 1, 1, 1, 6, 6, 1],
        grid: { importLimitKw: 5 },
        assets: [{ type: 'ev', id: 'car', maxKw: 4, energyKwh: 4, arrivalSlot: 4, departureSlot: 8 }],
      }),
    );
    expect(found).toMatchObject({ family: 'grid.import', slot: 5 });
    expect(found.message).toContain('the grid import limit (5 kW) cannot cover the site at slot 5');
  });
});
