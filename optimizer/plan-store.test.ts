import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { optimize } from './optimize.js';
import { migrateOptimizer, PlanRepository } from './plan-store.js';
import { parseProblem } from './problem.js';
import { type Plan, shiftSchedule } from './replan.js';
import { highsSolver } from './solvers/highs.js';

const Q = 900_000;
const SLOT = 1_960_000; // an absolute quarter-hour index
const START = SLOT * Q;

const problem = parseProblem({
  prices: { import: [0.1, 0.4, 0.2, 0.5], export: [0, 0, 0, 0] },
  baseLoadKw: [1, 3, 2, 4],
  pvKw: [0, 2, 1, 0],
  grid: { importLimitKw: 20, exportLimitKw: 5 },
  assets: [
    {
      type: 'battery',
      id: 'bat',
      capacityKwh: 10,
      maxChargeKw: 5,
      maxDischargeKw: 5,
      initialKwh: 2,
      minSocKwh: 1,
    },
    { type: 'sheddable', id: 'fans', baselineKw: 2, maxShedFraction: 0.5, costPerKwh: 0.3 },
  ],
});

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`plan storage on ${backend.name}`, () => {
    announceSkip(backend, 'optimizer plans');
    let store: Store;
    let plans: PlanRepository;
    let solved: Plan;
    beforeAll(async () => {
      store = await backend.open();
      expect(await migrateOptimizer(store)).toEqual([1]);
      plans = new PlanRepository(store.db);
      const result = await optimize(problem, highsSolver);
      solved = {
        slot: SLOT,
        source: 'solved',
        schedule: result.schedule!,
        result,
        request: { slot: SLOT, problem, startMs: START, inputs: { note: 'site inputs go here' } },
      };
    });
    afterAll(async () => store?.close());

    it('stores a plan with its request and result, and gives the newest back', async () => {
      const id = await plans.save('bern', solved, START + 5_000);
      const back = await plans.latest('bern');
      expect(back).toMatchObject({
        id,
        site: 'bern',
        createdMs: START + 5_000,
        slot: SLOT,
        startMs: START,
        slotMinutes: 15,
        source: 'solved',
        status: 'optimal',
        message: null,
      });
      expect(back!.objective).toBeCloseTo(solved.result!.objective!, 12);
      expect(back!.baselineCost).toBeCloseTo(solved.result!.baselineCost, 12);
      expect(back!.request.inputs).toEqual({ note: 'site inputs go here' });
      // Exact through JSON (−0 becomes 0, nothing else changes).
      const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x));
      expect(back!.schedule).toEqual(viaJson(solved.schedule));
      expect(back!.result!.explanation).toEqual(viaJson(solved.result!.explanation));
    });

    it('replays: re-solving the stored request gives the stored objective', async () => {
      const back = await plans.latest('bern');
      const again = await optimize(parseProblem(back!.request.problem), highsSolver);
      expect(again.objective).toBeCloseTo(back!.objective!, 9);
    });

    it('stores fallbacks with their reason and lists a day of plans oldest first', async () => {
      const fallback: Plan = {
        slot: SLOT + 1,
        source: 'previous',
        schedule: shiftSchedule(solved.schedule, 1),
        result: null,
        message: 'no plan within the 100 ms budget; keeping the plan from slot 1960000, shifted',
        request: { slot: SLOT + 1, problem, startMs: START + Q },
      };
      const id = await plans.save('bern', fallback, START + Q + 1_000);
      await plans.save('other', solved, START);
      await plans.save(
        'bern',
        { ...solved, slot: SLOT + 96, request: { ...solved.request, startMs: START + 96 * Q } },
        0,
      );
      const day = await plans.list('bern', START, START + 96 * Q);
      expect(day.map((p) => [p.slot, p.source, p.status])).toEqual([
        [SLOT, 'solved', 'optimal'],
        [SLOT + 1, 'previous', 'fallback'],
      ]);
      const stored = await plans.get(id);
      expect(stored).toMatchObject({ objective: null, message: fallback.message, result: null });
      // A fallback still carries the uncontrolled cost of its inputs, for the savings shown.
      expect(stored!.baselineCost).toBeCloseTo(solved.result!.baselineCost, 9);
      expect((await plans.latest('bern'))!.slot).toBe(SLOT + 96);
    });
  });
}
