import { firstValueFrom, Subject, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { GridflexError } from '../model/index.js';
import { lpBattery } from '../testkit/lp-problems.js';
import { checkSchedule } from './check.js';
import { optimize } from './optimize.js';
import { SolveWorker } from './pool.js';
import { type Problem, type ProblemInput, parseProblem } from './problem.js';
import { anchorTargets, type Plan, type PlanRequest, replan, shiftSchedule, sitePlanner } from './replan.js';
import { highsSolver } from './solvers/highs.js';

const battery = (prices: number[]): Problem =>
  parseProblem({
    slotMinutes: 60,
    prices: { import: prices, export: prices.map(() => 0) },
    baseLoadKw: [0, 0, 2],
    pvKw: [0, 0, 0],
    assets: [lpBattery()],
  } satisfies ProblemInput);

/** A stand-in solve taking `ms`, honouring the abort signal like the worker does. */
function slowSolve(ms: (r: PlanRequest) => number, aborted: number[]) {
  return (request: PlanRequest, _previous: Plan | null, signal: AbortSignal) =>
    new Promise<Awaited<ReturnType<typeof optimize>>>((resolve, reject) => {
      const timer = setTimeout(() => resolve(optimize(request.problem, highsSolver)), ms(request));
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        aborted.push(request.slot);
        reject(new GridflexError('GFX_OPT_CANCELLED', 'cancelled'));
      });
    });
}

const charge = (plan: Plan) => {
  const b = plan.schedule.assets.b1!;
  return b.type === 'battery' ? b.chargeKw : [];
};

describe('re-plan loop', () => {
  it('cancels an older solve when a newer request arrives; the stale plan is never emitted', async () => {
    const requests = new Subject<PlanRequest>();
    const aborted: number[] = [];
    const plans = firstValueFrom(
      replan(requests, { solve: slowSolve((r) => (r.slot === 0 ? 400 : 20), aborted), budgetMs: 5000 }).pipe(
        take(1),
        toArray(),
      ),
    );
    requests.next({ slot: 0, problem: battery([0.1, 0.2, 0.5]) });
    setTimeout(() => requests.next({ slot: 1, problem: battery([0.1, 0.2, 0.5]) }), 50);
    const [only] = await plans;
    expect(aborted).toEqual([0]);
    expect(only).toMatchObject({ slot: 1, source: 'solved' });
  });

  it('keeps the previous plan, shifted, when a solve overruns its budget', async () => {
    const requests = new Subject<PlanRequest>();
    const aborted: number[] = [];
    const plans = firstValueFrom(
      replan(requests, { solve: slowSolve((r) => (r.slot === 0 ? 0 : 1000), aborted), budgetMs: 300 }).pipe(
        take(2),
        toArray(),
      ),
    );
    requests.next({ slot: 0, problem: battery([0.1, 0.2, 0.5]) });
    setTimeout(() => requests.next({ slot: 1, problem: battery([0.3, 0.2, 0.5]) }), 200);
    const [first, second] = await plans;
    expect(first!.source).toBe('solved');
    expect(charge(first!)[0]).toBeCloseTo(2, 9);
    expect(second).toMatchObject({ slot: 1, source: 'previous' });
    expect(second!.message).toContain(
      'no plan within the 300 ms budget; keeping the plan from slot 0, shifted',
    );
    expect(charge(second!)).toEqual([expect.closeTo(0, 9), expect.closeTo(0, 9), 0]);
    expect(aborted).toEqual([1]);
  });

  it('falls back to the uncontrolled baseline when there is no earlier plan', async () => {
    const requests = new Subject<PlanRequest>();
    const failing = () => Promise.reject(new Error('solver crashed'));
    const plan = firstValueFrom(replan(requests, { solve: failing, budgetMs: 1000 }));
    requests.next({ slot: 0, problem: battery([0.1, 0.2, 0.5]) });
    expect(await plan).toMatchObject({
      source: 'baseline',
      message: expect.stringContaining('solver crashed'),
    });
  });

  it('shifts schedules: powers move earlier and end idle, trajectories hold their last value', () => {
    const s = {
      importKw: [1, 2, 3],
      exportKw: [0, 0, 0],
      pvUsedKw: [0, 0, 0],
      assets: {
        b1: { type: 'battery' as const, chargeKw: [1, 2, 3], dischargeKw: [0, 0, 0], socKwh: [0, 1, 3, 6] },
      },
    };
    const shifted = shiftSchedule(s, 1);
    expect(shifted.importKw).toEqual([2, 3, 0]);
    expect(shifted.assets.b1).toMatchObject({ chargeKw: [2, 3, 0], socKwh: [1, 3, 6, 6] });
  });
});

describe('anti-flap anchor', () => {
  it('keeps near-term decisions when a small price change would flip them, and reports the pure model cost', async () => {
    const before = await optimize(battery([0.1, 0.1001, 0.5]), highsSolver);
    expect(before.schedule!.assets.b1).toMatchObject({
      chargeKw: [expect.closeTo(2, 9), expect.closeTo(0, 9), 0],
    });
    const changed = battery([0.1001, 0.1, 0.5]);
    const free = await optimize(changed, highsSolver);
    expect(free.schedule!.assets.b1).toMatchObject({
      chargeKw: [expect.closeTo(0, 9), expect.closeTo(2, 9), 0],
    });
    const anchored = await optimize(changed, highsSolver, {
      anchor: { targets: anchorTargets(before.schedule!, 2), penaltyPerKwh: 0.01 },
    });
    expect(anchored.schedule!.assets.b1).toMatchObject({
      chargeKw: [expect.closeTo(2, 9), expect.closeTo(0, 9), 0],
    });
    expect(checkSchedule(changed, anchored.schedule!).violations).toEqual([]);
    expect(anchored.objective).toBeCloseTo(0.2002, 9);
    expect(anchored.stabilityPenalty).toBeCloseTo(0, 9);
  });
});

describe('site planner on a worker thread', () => {
  let worker: SolveWorker | undefined;
  afterEach(() => worker?.close());

  it('plans each request and anchors re-plans to the previous plan', async () => {
    worker = new SolveWorker();
    const requests = new Subject<PlanRequest>();
    const plans: Plan[] = [];
    let arrived: () => void = () => {};
    const sub = replan(requests, {
      solve: sitePlanner({ worker, stabilityPenaltyPerKwh: 0.01, site: 'bern' }),
      budgetMs: 25_000,
    }).subscribe((plan) => {
      plans.push(plan);
      arrived();
    });
    const next = (request: PlanRequest) =>
      new Promise<Plan>((resolve) => {
        arrived = () => resolve(plans[plans.length - 1]!);
        requests.next(request);
      });
    try {
      const a = await next({ slot: 0, problem: battery([0.1, 0.1001, 0.5]) });
      expect(a.source).toBe('solved');
      // Without the anchor this price change moves the charge to slot 1 (see the test above).
      const b = await next({ slot: 0, problem: battery([0.1001, 0.1, 0.5]) });
      expect(b.source).toBe('solved');
      expect(charge(b)[0]).toBeCloseTo(2, 9);
      expect(b.result!.stabilityPenalty).toBeCloseTo(0, 9);
    } finally {
      sub.unsubscribe();
    }
  });
});
