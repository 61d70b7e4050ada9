import { describe, expect, it } from 'vitest';
import { hourly, lpBattery } from '../testkit/lp-problems.js';
import type { ProblemInput } from './problem.js';
import { solveChecked } from './testing.js';

const solve = async (input: ProblemInput, solver: 'highs' | 'jsl' = 'highs') =>
  (await solveChecked(input, solver)).r;

describe.each(['highs', 'jsl'] as const)('hand-computed optima (%s)', (solver) => {
  it('buys the base load at the import price, which is also the marginal price', async () => {
    const r = await solve(
      hourly(4, {
        prices: { import: [0.1, 0.2, 0.3, 0.4], export: [0, 0, 0, 0] },
        baseLoadKw: [1, 2, 3, 4],
      }),
      solver,
    );
    expect(r.objective).toBeCloseTo(3.0, 9);
    expect(r.savings).toBeCloseTo(0, 9);
    if (solver === 'highs')
      expect(r.explanation!.marginalPricePerKwh).toEqual(
        [0.1, 0.2, 0.3, 0.4].map((v) => expect.closeTo(v, 9)),
      );
    else expect(r.explanation!.marginalPricePerKwh).toBeNull();
  });

  it('charges the battery when cheap and discharges when dear, paying for losses', async () => {
    const r = await solve(
      hourly(2, {
        prices: { import: [0.1, 0.5], export: [0, 0] },
        baseLoadKw: [0, 2],
        assets: [lpBattery({ chargeEfficiency: 0.9, dischargeEfficiency: 0.9 })],
      }),
      solver,
    );
    // 2 kWh delivered needs 2/0.81 kWh bought at 0.1.
    expect(r.objective).toBeCloseTo((0.1 * 2) / 0.81, 9);
    expect(r.baselineCost).toBeCloseTo(1.0, 9);
    expect(r.savings).toBeCloseTo(1 - 0.2 / 0.81, 9);
    const b = r.schedule!.assets.b1!;
    expect(b.type === 'battery' && b.dischargeKw[1]).toBeCloseTo(2, 9);
  });

  it('does not cycle the battery when wear costs more than the spread', async () => {
    const r = await solve(
      hourly(2, {
        prices: { import: [0.1, 0.5], export: [0, 0] },
        baseLoadKw: [0, 2],
        assets: [lpBattery({ wearCostPerKwh: 0.25 })],
      }),
      solver,
    );
    expect(r.objective).toBeCloseTo(1.0, 9);
  });

  it('moves a shiftable load to the cheapest slots in its window', async () => {
    const r = await solve(
      hourly(3, {
        prices: { import: [0.3, 0.1, 0.2], export: [0, 0, 0] },
        assets: [{ type: 'shiftable', id: 'pool', maxKw: 2, energyKwh: 3 }],
      }),
      solver,
    );
    expect(r.objective).toBeCloseTo(0.4, 9);
    // Baseline: from the earliest slot at full power, 2 kWh at 0.3 then 1 kWh at 0.1.
    expect(r.baselineCost).toBeCloseTo(0.7, 9);
  });

  it('exports PV surplus while paid, curtails when export prices go negative, and respects the export limit', async () => {
    const r = await solve(
      hourly(3, {
        prices: { import: [0.2, 0.2, 0.2], export: [0.05, -0.1, 0.05] },
        grid: { exportLimitKw: [10, 10, 3] },
        baseLoadKw: [1, 1, 1],
        pvKw: [5, 5, 5],
      }),
      solver,
    );
    // Slot 0: export 4 at 0.05; slot 1: curtail to the load; slot 2: export 3 (limit), curtail 1.
    expect(r.objective).toBeCloseTo(-0.2 - 0.15, 9);
    expect(r.schedule!.pvUsedKw).toEqual([expect.closeTo(5, 9), expect.closeTo(1, 9), expect.closeTo(4, 9)]);
    // Baseline uses all PV and exports it regardless: -0.2 + 0.4 - 0.2.
    expect(r.baselineCost).toBeCloseTo(0, 9);
    expect(r.explanation!.binding).toContainEqual({ family: 'grid.export', at: 'upper', slots: [2] });
  });

  it('shaves the peak with the battery when a demand charge applies', async () => {
    const r = await solve(
      hourly(2, {
        prices: { import: [0.1, 0.1], export: [0, 0] },
        baseLoadKw: [4, 0],
        peakChargePerKw: 1,
        assets: [lpBattery({ initialKwh: 2 })],
      }),
      solver,
    );
    expect(r.objective).toBeCloseTo(0.2 + 2, 9);
    expect(r.baselineCost).toBeCloseTo(0.4 + 4, 9);
  });

  it('pre-heats a thermal zone while power is cheap', async () => {
    const r = await solve(
      hourly(2, {
        prices: { import: [0.1, 0.3], export: [0, 0] },
        assets: [
          {
            type: 'thermal',
            id: 'z1',
            maxKw: 5,
            cop: 3,
            capacitanceKwhPerK: 10,
            resistanceKPerKw: 10,
            initialC: 20,
            outdoorC: 0,
            minC: 20,
            maxC: 25,
          },
        ],
      }),
      solver,
    );
    // θ2 = 0.99·(19.8 + 0.3 q0) + 0.3 q1 ≥ 20: heating in slot 0 costs 0.1/0.297 per K, in slot 1 0.3/0.3.
    expect(r.objective).toBeCloseTo((0.1 * (20 - 19.602)) / 0.297, 9);
    const z = r.schedule!.assets.z1!;
    expect(z.type === 'thermal' && z.temperatureC[2]).toBeCloseTo(20, 9);
  });

  it('sheds a load when its shedding cost is below the price', async () => {
    const r = await solve(
      hourly(2, {
        prices: { import: [0.1, 0.5], export: [0, 0] },
        assets: [{ type: 'sheddable', id: 'hvac', baselineKw: 2, maxShedFraction: 0.5, costPerKwh: 0.2 }],
      }),
      solver,
    );
    // Slot 1: shed 1 kW at 0.2 instead of buying it at 0.5.
    expect(r.objective).toBeCloseTo(0.2 + 0.5 + 0.2, 9);
    expect(r.savings).toBeCloseTo(0.3, 9);
  });

  it('charges an EV in the cheapest slots between arrival and departure', async () => {
    const r = await solve(
      hourly(4, {
        prices: { import: [0.05, 0.3, 0.2, 0.1], export: [0, 0, 0, 0] },
        assets: [{ type: 'ev', id: 'car', maxKw: 7, energyKwh: 10, arrivalSlot: 1, departureSlot: 4 }],
      }),
      solver,
    );
    expect(r.objective).toBeCloseTo(7 * 0.1 + 3 * 0.2, 9);
  });
});
