import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { glpsol } from '../testkit/system.js';
import { buildLp } from './build.js';
import { checkSchedule, scheduleCost } from './check.js';
import { SOLVERS } from './index.js';
import { toCplexLp } from './lp.js';
import { optimize } from './optimize.js';
import { type ProblemInput, parseProblem } from './problem.js';

/**
 * A day of 96 quarter-hours: 3 kW base load with a 12 kW spike 17:00–18:00, flat import
 * price, and a battery that can cover the spike only if it is told the spike costs money.
 */
const T = 96;
const load = Array.from({ length: T }, (_, t) => (t >= 68 && t < 72 ? 12 : 3));
const day = (extra: Partial<ProblemInput>): ProblemInput => ({
  slotMinutes: 15,
  prices: { import: Array(T).fill(0.25), export: Array(T).fill(0.05) },
  baseLoadKw: load,
  pvKw: Array(T).fill(0),
  assets: [
    {
      type: 'battery',
      id: 'b1',
      capacityKwh: 10,
      maxChargeKw: 5,
      maxDischargeKw: 8,
      initialKwh: 5,
      finalMinKwh: 5,
      wearCostPerKwh: 0.01,
    },
  ],
  ...extra,
});
const maxImport = (imp: number[]) => Math.max(...imp);

const glpk = glpsol();
const dir = mkdtempSync(join(tmpdir(), 'gridflex-peak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function glpkObjective(input: ProblemInput, name: string): number {
  const { lp } = buildLp(parseProblem(input));
  const lpFile = join(dir, `${name}.lp`);
  const out = join(dir, `${name}.sol`);
  writeFileSync(lpFile, toCplexLp(lp));
  execFileSync('/usr/bin/glpsol', ['--lp', lpFile, '--write', out], { stdio: 'ignore' });
  const line = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('s '))!;
  const [, , , , prim, , obj] = line.split(/\s+/);
  expect(prim).toBe('f');
  return Number(obj) + lp.offset;
}

describe('peak-demand charge in the LP', () => {
  const charge = 10; // per kW and month, a Swiss business tariff's order of magnitude

  it('lowers the peak the site pays for, versus the same problem without the peak term', async () => {
    const withPeak = parseProblem(day({ peakChargePerKw: charge }));
    const without = parseProblem(day({}));
    const a = await optimize(withPeak, SOLVERS.highs);
    const b = await optimize(without, SOLVERS.highs);
    expect(a.status).toBe('optimal');
    expect(checkSchedule(withPeak, a.schedule!).violations).toEqual([]);
    // Without the term the battery idles (flat price, wear): the spike goes to the grid.
    expect(maxImport(b.schedule!.importKw)).toBeCloseTo(12, 6);
    // With it, the battery (charged beforehand) covers the spike down to the base load's 4 kW
    // level: 4 slots × 8 kW × 0.25 h = 8 kWh ≤ its 10 kWh.
    const peakA = maxImport(a.schedule!.importKw);
    expect(peakA).toBeCloseTo(4, 5);
    // Both schedules costed under the peak tariff: the peak-aware one pays less, by more than
    // the charge on the kW it shaved minus what the extra cycling costs.
    const costA = scheduleCost(withPeak, a.schedule!).total;
    const costB = scheduleCost(withPeak, b.schedule!).total;
    expect(costA).toBeLessThan(costB - charge * 1);
    expect(a.objective!).toBeCloseTo(costA, 6);
  });

  it('treats the month’s peak so far as sunk: no shaving below it, shaving above it', async () => {
    const sunkHigh = parseProblem(day({ peakChargePerKw: charge, peakSoFarKw: 13 }));
    const high = await optimize(sunkHigh, SOLVERS.highs);
    // The 12 kW spike is below the 13 kW already paid for: cycling the battery would only cost wear.
    expect(maxImport(high.schedule!.importKw)).toBeCloseTo(12, 6);
    expect(high.cost!.peak).toBeCloseTo(13 * charge, 6);

    const sunkLow = parseProblem(day({ peakChargePerKw: charge, peakSoFarKw: 6 }));
    const low = await optimize(sunkLow, SOLVERS.highs);
    const free = await optimize(parseProblem(day({ peakChargePerKw: charge })), SOLVERS.highs);
    // Without a floor the battery shaves to 4 kW; with 6 kW already paid for, shaving below 6
    // would only cost wear, so the plan stops at the floor.
    expect(maxImport(free.schedule!.importKw)).toBeCloseTo(4, 5);
    expect(maxImport(low.schedule!.importKw)).toBeCloseTo(6, 5);
    expect(low.cost!.peak).toBeCloseTo(6 * charge, 6);
  });

  it('charges each billing month of a horizon crossing the month’s end on its own peak', async () => {
    const p = parseProblem(
      day({
        peakPeriods: [
          { fromSlot: 0, toSlot: 48, chargePerKw: charge, soFarKw: 9 },
          { fromSlot: 48, toSlot: T, chargePerKw: charge },
        ],
      }),
    );
    const r = await optimize(p, SOLVERS.highs);
    expect(r.status).toBe('optimal');
    expect(checkSchedule(p, r.schedule!).violations).toEqual([]);
    const second = maxImport(r.schedule!.importKw.slice(48));
    expect(second).toBeLessThan(11);
    expect(r.cost!.peak).toBeCloseTo(charge * 9 + charge * second, 5);
    expect(buildLp(p).lp.colNames.filter((n) => n.startsWith('grid.peak'))).toEqual([
      'grid.peak[0]',
      'grid.peak[1]',
    ]);
  });

  it('refuses overlapping periods and a period past the horizon, naming the field', () => {
    expect(() =>
      parseProblem(
        day({
          peakPeriods: [
            { fromSlot: 0, toSlot: 50, chargePerKw: 1 },
            { fromSlot: 48, toSlot: 97, chargePerKw: 1 },
          ],
        }),
      ),
    ).toThrow(/peakPeriods\[1\]\.toSlot: must be at most 96 \(the horizon\) \(and 1 more\)/);
  });

  describe.skipIf(glpk.skipReason !== null)('GLPK agrees', () => {
    it.each([
      { label: 'peak term', extra: { peakChargePerKw: charge } },
      { label: 'peak so far as floor', extra: { peakChargePerKw: charge, peakSoFarKw: 6 } },
      {
        label: 'two billing months',
        extra: {
          peakPeriods: [
            { fromSlot: 0, toSlot: 48, chargePerKw: charge, soFarKw: 9 },
            { fromSlot: 48, toSlot: T, chargePerKw: charge },
          ],
        },
      },
      { label: 'no peak term', extra: {} },
    ])('on the objective with a $label', async ({ label, extra }) => {
      const input = day(extra);
      const r = await optimize(parseProblem(input), SOLVERS.highs);
      const g = glpkObjective(input, label.replaceAll(' ', '-'));
      expect(Math.abs(r.objective! - g) / Math.max(1, Math.abs(g))).toBeLessThan(1e-6);
    });

    it('that the peak term lowers the bill: GLPK’s optimum with it beats the peak-blind plan', async () => {
      const withPeak = parseProblem(day({ peakChargePerKw: charge }));
      const blind = await optimize(parseProblem(day({})), SOLVERS.highs);
      const g = glpkObjective(day({ peakChargePerKw: charge }), 'lowers');
      expect(g).toBeLessThan(scheduleCost(withPeak, blind.schedule!).total - charge);
    });
  });
});
