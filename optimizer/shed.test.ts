import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { glpsol } from '../testkit/system.js';
import { buildLp } from './build.js';
import { checkSchedule } from './check.js';
import { type ProblemInput, parseProblem } from './problem.js';
import { glpsolSolve, relGap, solveChecked } from './testing.js';

/**
 * Three hours of quarter-hours at a dear import price, and a fan that saves money whenever it
 * is slowed: without a longest shed it is slowed all the time; with 30 minutes it is back at
 * normal at least one slot in every three.
 */
const T = 12;
const hours = (maxShedMinutes?: number): ProblemInput => ({
  slotMinutes: 15,
  prices: { import: Array(T).fill(0.3), export: Array(T).fill(0.05) },
  baseLoadKw: Array(T).fill(5),
  pvKw: Array(T).fill(0),
  assets: [
    {
      type: 'sheddable',
      id: 'ahu',
      baselineKw: 2,
      maxShedFraction: 0.5,
      costPerKwh: 0.05,
      ...(maxShedMinutes === undefined ? {} : { maxShedMinutes }),
    },
  ],
});

const shedOf = (s: { assets: Record<string, unknown> }) => (s.assets.ahu as { shedKw: number[] }).shedKw;
const glpk = glpsol();
const dir = mkdtempSync(join(tmpdir(), 'gfx-shed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('longest shed of a sheddable load (maxShedMinutes)', () => {
  it('is a hard limit: every window one slot longer than it sheds at most its worth', async () => {
    const free = await solveChecked(hours());
    expect(shedOf(free.r.schedule!).reduce((a, x) => a + x, 0)).toBeCloseTo(12 * 1, 6);
    const limited = await solveChecked(hours(30));
    const shed = shedOf(limited.r.schedule!);
    // 30 min = 2 slots: in every 3 consecutive slots at most 2 × 1 kW shed; 12 slots → 8 kW·slots.
    for (let t = 0; t + 2 < T; t++)
      expect(shed[t]! + shed[t + 1]! + shed[t + 2]!).toBeLessThanOrEqual(2 + 1e-6);
    expect(shed.reduce((a, x) => a + x, 0)).toBeCloseTo(8, 6);
    // The checker says so of a plan that ignores the limit.
    expect(checkSchedule(limited.p, free.r.schedule!).violations).toContain(
      'sheddable ahu sheds longer than 30 min in slots 0–2',
    );
  });

  it.skipIf(glpk.skipReason !== null)('GLPK agrees on the optimum', async () => {
    const { p, r } = await solveChecked(hours(30));
    const g = glpsolSolve(buildLp(p).lp, dir, 'shed', 'lp');
    expect(g.status).toBe('optimal');
    expect(relGap(r.objective!, g.objective)).toBeLessThan(1e-6);
  });

  it('names the field when it is not a positive number', () => {
    expect(() => parseProblem(hours(0))).toThrow(/assets\[0\]\.maxShedMinutes/);
  });
});
