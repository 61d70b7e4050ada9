import { defer, Observable, switchMap, tap } from 'rxjs';
import { GridflexError } from '../model/index.js';
import { baselineSchedule } from './baseline.js';
import { OPT_ERRORS } from './errors.js';
import { type OptimizeResult, optimize } from './optimize.js';
import type { LpSolveService } from './pool.js';
import type { Problem } from './problem.js';
import type { AssetSchedule, Schedule } from './schedule.js';
import type { LpSolver, SolverName } from './solver.js';

/** One re-plan: the site's problem, whose slot 0 is absolute slot `slot` (e.g. quarter-hours since epoch). */
export interface PlanRequest {
  slot: number;
  problem: Problem;
  /** Start of slot 0, ms since epoch, when the request comes from a live loop. */
  startMs?: number;
  /** What the problem was built from (site-problem.ts `SiteInputs`), kept for replays. */
  inputs?: unknown;
}

/**
 * The plan in force. `solved`: from this request; `previous`: the last valid plan shifted to
 * this slot because the solve failed or overran its budget; `baseline`: no valid plan yet, so
 * the uncontrolled behaviour (README "Baseline"). Never absent.
 */
export interface Plan {
  slot: number;
  source: 'solved' | 'previous' | 'baseline';
  schedule: Schedule;
  /** The solve behind a `solved` plan. */
  result: OptimizeResult | null;
  message?: string;
  /** Inputs kept with the plan so any decision can be replayed. */
  request: PlanRequest;
}

/** Drops the first `k` slots; powers past the old horizon are 0 (idle), trajectories hold their last value. */
export function shiftSchedule(s: Schedule, k: number): Schedule {
  const power = (xs: number[]) => [...xs.slice(k), ...Array(Math.min(k, xs.length)).fill(0)];
  const path = (xs: number[]) => {
    const kept = xs.slice(Math.min(k, xs.length - 1));
    return [...kept, ...Array(xs.length - kept.length).fill(kept[kept.length - 1] ?? 0)];
  };
  const assets: Record<string, AssetSchedule> = {};
  for (const [id, a] of Object.entries(s.assets)) {
    switch (a.type) {
      case 'battery':
        assets[id] = {
          type: 'battery',
          chargeKw: power(a.chargeKw),
          dischargeKw: power(a.dischargeKw),
          socKwh: path(a.socKwh),
        };
        break;
      case 'shiftable':
      case 'ev':
        assets[id] = { type: a.type, powerKw: power(a.powerKw) };
        break;
      case 'sheddable':
        assets[id] = { type: 'sheddable', shedKw: power(a.shedKw), powerKw: power(a.powerKw) };
        break;
      case 'thermal':
        assets[id] = { type: 'thermal', powerKw: power(a.powerKw), temperatureC: path(a.temperatureC) };
        break;
    }
  }
  return { importKw: power(s.importKw), exportKw: power(s.exportKw), pvUsedKw: power(s.pvUsedKw), assets };
}

/** Column targets for the anti-flap anchor: the previous plan's setpoints for the first `slots` slots. */
export function anchorTargets(previous: Schedule, slots: number): Map<string, number> {
  const targets = new Map<string, number>();
  const put = (name: string, xs: number[]) => {
    for (let t = 0; t < Math.min(slots, xs.length); t++) targets.set(`${name}[${t}]`, xs[t]!);
  };
  for (const [id, a] of Object.entries(previous.assets)) {
    const tag = `${a.type}[${id}]`;
    if (a.type === 'battery') {
      put(`${tag}.charge`, a.chargeKw);
      put(`${tag}.discharge`, a.dischargeKw);
    } else if (a.type === 'sheddable') put(`${tag}.shed`, a.shedKw);
    else put(`${tag}.power`, a.powerKw);
  }
  return targets;
}

/** An LpSolver that runs on a SolveWorker (or another `LpSolveService`) and stops when `signal` aborts. */
export function workerSolver(
  worker: Pick<LpSolveService, 'solve'>,
  name: SolverName,
  signal?: AbortSignal,
  site?: string,
): LpSolver {
  return {
    name,
    solve: (lp, options) =>
      worker.solve(lp, name, {
        ...options,
        ...(signal ? { signal } : {}),
        ...(site === undefined ? {} : { site }),
      }),
  };
}

export interface ReplanOptions {
  /** Solves one request; must stop (reject or resolve) soon after `signal` aborts. */
  solve: (request: PlanRequest, previous: Plan | null, signal: AbortSignal) => Promise<OptimizeResult>;
  /** Past this, the solve is aborted and the previous plan (shifted) stays in force. */
  budgetMs: number;
}

/**
 * The re-plan loop: every request starts a solve; a newer request cancels the older solve
 * (switchMap unsubscribes, which aborts it), so no stale plan is ever emitted. A solve that
 * fails, is infeasible or overruns the budget yields the previous valid plan shifted to the
 * new slot, flagged and explained.
 */
export function replan(requests$: Observable<PlanRequest>, options: ReplanOptions): Observable<Plan> {
  return defer(() => replanOnce(requests$, options));
}

/** One subscription's loop; `previous` is its own. */
function replanOnce(requests$: Observable<PlanRequest>, options: ReplanOptions): Observable<Plan> {
  let previous: Plan | null = null;
  const fallback = (request: PlanRequest, why: string): Plan => {
    if (previous && previous.source !== 'baseline' && request.slot >= previous.slot)
      return {
        slot: request.slot,
        source: 'previous',
        schedule: shiftSchedule(previous.schedule, request.slot - previous.slot),
        result: null,
        message: `${why}; keeping the plan from slot ${previous.slot}, shifted`,
        request,
      };
    return {
      slot: request.slot,
      source: 'baseline',
      schedule: baselineSchedule(request.problem),
      result: null,
      message: `${why}; no earlier plan, so assets run uncontrolled`,
      request,
    };
  };
  return requests$.pipe(
    switchMap(
      (request) =>
        new Observable<Plan>((subscriber) => {
          const controller = new AbortController();
          let settled = false;
          const finish = (plan: Plan) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            subscriber.next(plan);
            subscriber.complete();
          };
          const timer = setTimeout(() => {
            controller.abort();
            finish(fallback(request, `no plan within the ${options.budgetMs} ms budget`));
          }, options.budgetMs);
          Promise.resolve()
            .then(() => options.solve(request, previous, controller.signal))
            .then(
              (result) => {
                if (result.status === 'optimal' && result.schedule)
                  finish({
                    slot: request.slot,
                    source: 'solved',
                    schedule: result.schedule,
                    result,
                    request,
                  });
                else
                  finish(
                    fallback(
                      request,
                      `solve ended ${result.status}${result.message ? `: ${result.message}` : ''}`,
                    ),
                  );
              },
              (err: unknown) => {
                if (err instanceof GridflexError && err.code === OPT_ERRORS.cancelled) return;
                finish(
                  fallback(request, `solve failed: ${err instanceof Error ? err.message : String(err)}`),
                );
              },
            );
          return () => {
            clearTimeout(timer);
            if (!settled) controller.abort();
          };
        }),
    ),
    tap((plan) => {
      previous = plan;
    }),
  );
}

export interface SitePlannerOptions {
  /** A `SolveWorker`, or the queue solver of `gridflex run` with `uplink.workers`. */
  worker: Pick<LpSolveService, 'solve'>;
  solver?: SolverName;
  /** Anti-flap: penalty per kWh of deviation from the previous plan's first `anchorSlots` setpoints. */
  stabilityPenaltyPerKwh?: number;
  anchorSlots?: number;
  /** Keep the site's HiGHS model on the worker between re-plans (warm starts). */
  site?: string;
}

/** The default `solve` for `replan`: one site on a worker thread, anchored to the previous plan. */
export function sitePlanner(o: SitePlannerOptions): ReplanOptions['solve'] {
  return (request, previous, signal) => {
    const solver = workerSolver(o.worker, o.solver ?? 'highs', signal, o.site);
    const penalty = o.stabilityPenaltyPerKwh ?? 0;
    // Anchoring to the uncontrolled baseline would pull the plan towards no control.
    if (!previous || previous.source === 'baseline' || penalty <= 0 || request.slot < previous.slot)
      return optimize(request.problem, solver);
    const shifted = shiftSchedule(previous.schedule, request.slot - previous.slot);
    return optimize(request.problem, solver, {
      anchor: { targets: anchorTargets(shifted, o.anchorSlots ?? 4), penaltyPerKwh: penalty },
    });
  };
}
