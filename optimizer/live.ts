import {
  BehaviorSubject,
  concatMap,
  distinctUntilChanged,
  EMPTY,
  filter,
  from,
  map,
  merge,
  type Observable,
  Subject,
  type Subscription,
  share,
  startWith,
  tap,
  timer,
} from 'rxjs';
import { z } from 'zod';
import { LatestValues } from '../control/latest.js';
import {
  gridMeterPoints,
  localHour,
  localTime,
  type PvAsset,
  parseOrThrow,
  type Reading,
  type Site,
  type SiteCommitment,
  ValidationError,
  type WriteRecord,
} from '../model/index.js';
import { OPT_ERRORS } from './errors.js';
import { clearSkyPvKw, fallbackLoadKw, pvForecastKw, YIELD_DEFAULT } from './forecast.js';
import type { ForecastStore, PowerTerm } from './forecast-store.js';
import type { PriceProvider } from './live-prices.js';
import type { PlanRepository } from './plan-store.js';
import type { ReservationSchema } from './problem.js';
import { type Plan, type PlanRequest, type ReplanOptions, replan } from './replan.js';
import {
  type AssetSetpoint,
  controlledAssets,
  type SetpointSink,
  type SetpointWrite,
  setpointsAt,
} from './setpoint-sink.js';
import { HORIZON_SLOTS, type SiteInputs, siteProblem } from './site-problem.js';

/**
 * Time-of-use tariff (README "Live loop"): an import price per kWh by local time window, the
 * rest of the day at `import.otherPerKwh`, and one export price. Windows are [from, to) in the
 * site's time zone, whole hours.
 */
export const TariffSchema = z.object({
  currency: z.string().min(1).default('CHF'),
  import: z.object({
    otherPerKwh: z.number(),
    windows: z
      .array(
        z
          .object({
            fromHour: z.number().int().min(0).max(23),
            toHour: z.number().int().min(1).max(24),
            perKwh: z.number(),
          })
          .refine((w) => w.toHour > w.fromHour, { path: ['toHour'], message: 'must be after fromHour' }),
      )
      .default([]),
  }),
  exportPerKwh: z.number(),
});
export type Tariff = z.output<typeof TariffSchema>;

/**
 * Default tariff: a Swiss two-rate household tariff in round figures (high rate 07–21 h
 * local, low rate otherwise, a typical feed-in rate). Assumed values, not a real utility's.
 */
export const DEFAULT_TARIFF: Tariff = {
  currency: 'CHF',
  import: { otherPerKwh: 0.22, windows: [{ fromHour: 7, toHour: 21, perKwh: 0.32 }] },
  exportPerKwh: 0.08,
};

/** Per-slot prices of a tariff over a horizon. */
export function tariffPrices(
  tariff: Tariff,
  startMs: number,
  slots: number,
  slotMinutes: number,
  timezone: string,
): { import: number[]; export: number[] } {
  const imp = Array.from({ length: slots }, (_, t) => {
    const h = localHour(startMs + t * slotMinutes * 60_000, timezone);
    return (
      tariff.import.windows.find((w) => h >= w.fromHour && h < w.toHour)?.perKwh ?? tariff.import.otherPerKwh
    );
  });
  return { import: imp, export: imp.map(() => tariff.exportPerKwh) };
}

/**
 * The LP's reservations (problem.ts) for the obligations that reserve capacity in this horizon:
 * per slot, the obligation's kW in the slots it overlaps and 0 elsewhere. Ids are made
 * LP-safe from the market's (which carry times) and stay unique.
 */
export function obligationReservations(
  obligations: readonly SiteCommitment[],
  startMs: number,
  slots: number,
  slotMinutes: number,
): z.input<typeof ReservationSchema>[] {
  const slotMs = slotMinutes * 60_000;
  return obligations.flatMap((o, i) => {
    const r = o.reserve;
    if (!r) return [];
    const on = (t: number) => o.startMs < startMs + (t + 1) * slotMs && o.endMs > startMs + t * slotMs;
    const upKw = Array.from({ length: slots }, (_, t) => (on(t) ? (r.upKw ?? 0) : 0));
    const downKw = Array.from({ length: slots }, (_, t) => (on(t) ? (r.downKw ?? 0) : 0));
    if (upKw.every((x) => x === 0) && downKw.every((x) => x === 0)) return [];
    const id = `${i + 1}-${o.id.toLowerCase().replace(/[^a-z0-9_-]+/g, '-')}`.slice(0, 64);
    return [
      { id, upKw, downKw, sustainMinutes: r.sustainMinutes, ...(r.product ? { product: r.product } : {}) },
    ];
  });
}

/** Per-slot grid limits from the connection and the obligations active in each slot. */
export function obligationLimits(
  site: Site,
  obligations: readonly SiteCommitment[],
  startMs: number,
  slots: number,
  slotMinutes: number,
): { importLimitKw: number[]; exportLimitKw: number[] } | null {
  if (obligations.length === 0) return null;
  const slotMs = slotMinutes * 60_000;
  const importLimitKw: number[] = [];
  const exportLimitKw: number[] = [];
  for (let t = 0; t < slots; t++) {
    const a = startMs + t * slotMs;
    let imp = site.grid.importLimitKw;
    let exp = site.grid.exportLimitKw;
    for (const o of obligations) {
      if (o.endMs <= a || o.startMs >= a + slotMs) continue;
      if (o.importLimitKw !== undefined) imp = Math.min(imp, o.importLimitKw);
      if (o.exportLimitKw !== undefined) exp = Math.min(exp, o.exportLimitKw);
    }
    importLimitKw.push(imp);
    exportLimitKw.push(exp);
  }
  return { importLimitKw, exportLimitKw };
}

export interface SiteForecast {
  pvKw: number[];
  baseLoadKw: number[];
  outdoorC: number | number[];
}

/** Forecasts for a horizon; may read the store (forecast-store.ts). */
export type Forecaster = (startMs: number, slots: number, slotMinutes: number) => Promise<SiteForecast>;

/**
 * The forecaster without history: PV = clear sky of every `pv` asset × `pvYield` (default the
 * documented YIELD_DEFAULT), base load = the fallback profile around `meanLoadKw`, outdoor
 * temperature constant. Pass a store-backed one (forecast-store.ts) where history exists.
 */
export function profileForecaster(
  site: Site,
  o: { meanLoadKw: number; outdoorC?: number; pvYield?: number },
): Forecaster {
  const pv = sitePv(site);
  return async (startMs, slots, slotMinutes) => {
    const pvKw = Array(slots).fill(0) as number[];
    for (const a of pv) {
      const kw = pvForecastKw(
        clearSkyPvKw(site.location, a.kwp, startMs, slots, slotMinutes, a.inverterKw),
        o.pvYield ?? YIELD_DEFAULT,
      );
      kw.forEach((v, t) => {
        pvKw[t]! += v;
      });
    }
    return {
      pvKw,
      baseLoadKw: fallbackLoadKw(startMs, slots, slotMinutes, site.timezone, o.meanLoadKw),
      outdoorC: o.outdoorC ?? 10,
    };
  };
}

/** The points measuring the grid connection: the one grid-meter rule (model `gridMeterPoints`). */
export const gridPowerPoints = gridMeterPoints;

/**
 * The forecaster from the store's history (forecast-store.ts): base load = Σ grid power
 * (`gridPowerPoints`) + PV output (`pv` assets'
 * `measure.power`) + battery discharge (batteries' `measure.power`, positive = discharging, as
 * SunSpec model 103 reads) from the same weekday and time over the last 4 weeks, slots without
 * history from the fallback profile around `meanLoadKw`; PV = clear sky × the yield measured
 * over the last 7 days (YIELD_DEFAULT without enough data). Without a grid meter: the profile.
 */
export function storeForecaster(
  site: Site,
  store: ForecastStore,
  o: { meanLoadKw: number; outdoorC?: number },
): Forecaster {
  const assets = site.buildings.flatMap((b) => b.assets);
  const grid = gridPowerPoints(site);
  const pv = assets.filter((a) => a.type === 'pv');
  const terms: PowerTerm[] = [
    ...grid.map((pointId) => ({ pointId, sign: 1 as const })),
    ...assets.flatMap((a) =>
      (a.type === 'pv' || a.type === 'battery') && a.measure.power
        ? [{ pointId: a.measure.power, sign: 1 as const }]
        : [],
    ),
  ];
  const profile = profileForecaster(site, o);
  return async (startMs, slots, slotMinutes) => {
    const fallback = await profile(startMs, slots, slotMinutes);
    if (grid.length === 0) return fallback;
    const base = await store.baseLoad({ terms, startMs, fallbackKw: fallback.baseLoadKw });
    const pvKw = Array(slots).fill(0) as number[];
    for (const a of pv) {
      const clear = clearSkyPvKw(site.location, a.kwp, startMs, slots, slotMinutes, a.inverterKw);
      const factor = a.measure.power
        ? (
            await store.pvYield({
              term: { pointId: a.measure.power, sign: 1 },
              location: site.location,
              kwp: a.kwp,
              endMs: startMs,
            })
          ).factor
        : YIELD_DEFAULT;
      pvForecastKw(clear, factor).forEach((v, t) => {
        pvKw[t]! += v;
      });
    }
    return { pvKw, baseLoadKw: base.kw, outdoorC: fallback.outdoorC };
  };
}

/** Measured state the LP starts from, by asset id. */
export interface LiveState {
  socPct: Record<string, number>;
  temperatureC: Record<string, number>;
}

/** Which reading feeds which state entry: batteries' `measure.soc`, thermal zones' `measure.temperature`. */
export function stateBindings(site: Site): Map<string, { kind: 'soc' | 'temperature'; assetId: string }> {
  const out = new Map<string, { kind: 'soc' | 'temperature'; assetId: string }>();
  for (const a of site.buildings.flatMap((b) => b.assets)) {
    if (a.type === 'battery' && a.measure.soc) out.set(a.measure.soc, { kind: 'soc', assetId: a.id });
    if (a.type === 'thermal' && a.measure.temperature)
      out.set(a.measure.temperature, { kind: 'temperature', assetId: a.id });
  }
  return out;
}

/**
 * The measured state at `nowMs` from the one freshness and quality policy (control/latest.ts):
 * good and uncertain readings count, bad ones never, and a value older than the policy's
 * `maxAgeMs` is no state (the plan waits rather than start from a stale SoC).
 */
export function stateAt(site: Site, values: LatestValues, nowMs: number): LiveState {
  const s: LiveState = { socPct: {}, temperatureC: {} };
  for (const [pointId, b] of stateBindings(site)) {
    const v = values.get(pointId, nowMs);
    if (v === undefined) continue;
    if (b.kind === 'soc') s.socPct[b.assetId] = Math.min(100, Math.max(0, v));
    else s.temperatureC[b.assetId] = v;
  }
  return s;
}

/**
 * The state after every reading of a bound point (`stateAt` on `clock`). Pass `values` to share
 * the cache with a caller that asks for the state later (the loop, at each request).
 */
export function liveState$(
  site: Site,
  readings$: Observable<Reading>,
  clock: () => number,
  values: LatestValues = new LatestValues(),
): Observable<LiveState> {
  const bindings = stateBindings(site);
  return readings$.pipe(
    filter((r) => bindings.has(r.pointId)),
    map((r) => {
      values.update(r);
      return stateAt(site, values, clock());
    }),
  );
}

/** Thresholds past which a change re-plans at once rather than at the next slot. */
export interface MaterialChange {
  /** Percentage points of battery SoC away from the value the plan started from. */
  socPct: number;
  /** Kelvin away from the zone temperature the plan started from. */
  temperatureC: number;
}
export const DEFAULT_MATERIAL: MaterialChange = { socPct: 5, temperatureC: 0.5 };

/** Does `now` differ materially from `planned` (a missing value on either side counts)? */
export function materiallyChanged(planned: LiveState | null, now: LiveState, m: MaterialChange): boolean {
  if (!planned) return true;
  const differs = (a: Record<string, number>, b: Record<string, number>, tol: number) =>
    Object.keys({ ...a, ...b }).some(
      (k) => a[k] === undefined || b[k] === undefined || Math.abs(a[k] - b[k]) >= tol,
    );
  return (
    differs(planned.socPct, now.socPct, m.socPct) ||
    differs(planned.temperatureC, now.temperatureC, m.temperatureC)
  );
}

/** What the loop reports: every plan (and whether it was solved or kept), every dispatch, every wait. */
export type LiveEvent =
  | { kind: 'plan'; plan: Plan; trigger: string; storedId: number | null }
  | { kind: 'dispatch'; slot: number; setpoints: AssetSetpoint[]; writes: SetpointWrite[] }
  | { kind: 'waiting'; message: string }
  | { kind: 'error'; message: string };

export interface LiveLoopOptions {
  site: Site;
  readings$: Observable<Reading>;
  /** Wall clock (ms), or the simulated clock in a bench. */
  clock: () => number;
  forecast: Forecaster;
  tariff?: Tariff;
  /** Prices of a `SiteTariff` (live-prices.ts `siteTariffPrices`); replaces `tariff` when given. */
  prices?: PriceProvider;
  /** Market obligations of this site; each emission replaces the list (may never emit). */
  obligations$?: Observable<readonly SiteCommitment[]>;
  /** Solves one request (replan.ts `sitePlanner` on a worker, or in-thread in a bench). */
  solve: ReplanOptions['solve'];
  /** Time budget of each solve; past it the previous plan (shifted) stays in force. */
  budgetMs?: number;
  sink?: SetpointSink;
  plans?: PlanRepository;
  slotMinutes?: number;
  /** Horizon in slots; default `HORIZON_SLOTS` (36 h of quarter-hours). */
  slots?: number;
  material?: MaterialChange;
  /** Slot boundaries; default a timer on the clock's quarter-hours. Tests and benches drive their own. */
  ticks$?: Observable<unknown>;
  /**
   * Check the setpoints in force this often; 0 = never. The sink writes only what changed, or
   * renews a device's fail-safe lease when it would lapse (control/setpoint-memory.ts), so this
   * must be shorter than half the shortest fail-safe timeout (default 20 s; SunSpec's 60 s).
   */
  refreshMs?: number;
  /** Every writer's write records (the hub's `writes` topic), so the sink knows what devices hold. */
  writes$?: Observable<WriteRecord>;
  /**
   * Least real time between two dispatches (ms): a new plan right after a dispatch waits so
   * the gateway's rate limit (`minWriteInterval`, 5 s by default) does not refuse it. Default 6 s.
   */
  minDispatchGapMs?: number;
  /** Battery wear cost per kWh of throughput, passed to the problem. */
  batteryWearPerKwh?: number;
}

/**
 * The live re-plan loop of one site (README "Live loop"). Inputs: the latest measured state
 * (from the hub's readings via the assets' `measure` bindings), forecasts, tariff prices and
 * market obligations. A request is made at every slot boundary and whenever the state moves
 * materially or the obligations change; replan.ts solves it (a newer request cancels the older
 * solve; past the budget the previous plan, shifted, is kept and the event says so). Every plan
 * is stored with its inputs; the setpoints of the slot in force go to the sink at every plan and
 * every `refreshMs`.
 */
export class LiveLoop {
  readonly events$: Observable<LiveEvent>;
  private readonly events = new Subject<LiveEvent>();
  private readonly current = new BehaviorSubject<Plan | null>(null);
  private sub: Subscription | null = null;
  private dispatching: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastDispatch = -Infinity;
  /** When each plan arrived, on the loop's clock (the "solved at" of the writes' why). */
  private readonly planAt = new WeakMap<Plan, number>();

  /** What the site lets the loop move, derived once from its configuration. */
  private readonly controlled: (assetId: string) => boolean;
  private readonly pv: PvAsset[];

  constructor(private readonly o: LiveLoopOptions) {
    this.events$ = this.events.asObservable();
    this.controlled = controlledAssets(o.site);
    this.pv = sitePv(o.site);
  }

  get plan(): Plan | null {
    return this.current.value;
  }

  private get slotMs(): number {
    return (this.o.slotMinutes ?? 15) * 60_000;
  }

  slotAt(ms: number): number {
    return Math.floor(ms / this.slotMs);
  }

  /** Start; `stop()` ends every subscription and waits for a dispatch under way. */
  start(): this {
    const o = this.o;
    const slotMinutes = o.slotMinutes ?? 15;
    const slots = o.slots ?? HORIZON_SLOTS;
    const material = o.material ?? DEFAULT_MATERIAL;
    const values = new LatestValues();
    const state$ = liveState$(o.site, o.readings$, o.clock, values).pipe(share());
    let planned: LiveState | null = null;
    let obligations: readonly SiteCommitment[] = [];
    const ticks$ = o.ticks$ ?? timer(this.slotMs - (o.clock() % this.slotMs), this.slotMs).pipe(startWith(0));
    const triggers$: Observable<string> = merge(
      ticks$.pipe(map(() => 'slot')),
      state$.pipe(
        filter((s) => materiallyChanged(planned, s, material)),
        map(() => 'state changed'),
      ),
      (o.obligations$ ?? EMPTY).pipe(
        distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
        tap((list) => {
          obligations = list;
        }),
        map(() => 'market obligations changed'),
      ),
    );
    const requests$ = triggers$.pipe(
      concatMap((trigger) =>
        from(
          this.request(stateAt(o.site, values, o.clock()), obligations, slots, slotMinutes).then(
            (r) => {
              if (r) planned = r.state;
              return r ? [{ ...r.request, inputs: { ...(r.request.inputs as object), trigger } }] : [];
            },
            (err: unknown) => {
              this.report(err);
              return [];
            },
          ),
        ),
      ),
      concatMap((rs) => from(rs)),
    );
    const plans$ = replan(requests$, { solve: o.solve, budgetMs: o.budgetMs ?? 20_000 });
    this.sub = plans$
      .pipe(
        concatMap(async (plan) => {
          this.current.next(plan);
          this.planAt.set(plan, o.clock());
          let storedId: number | null = null;
          if (o.plans) {
            try {
              storedId = await o.plans.save(o.site.id, plan, o.clock());
            } catch (err) {
              this.report(err);
            }
          }
          const trigger = (plan.request.inputs as { trigger?: string } | undefined)?.trigger ?? 'slot';
          this.events.next({ kind: 'plan', plan, trigger, storedId });
          await this.dispatch();
        }),
      )
      .subscribe({ error: (err: unknown) => this.report(err) });
    const sink = o.sink;
    if (o.writes$ && sink?.observe) this.sub.add(o.writes$.subscribe((r) => sink.observe?.(r)));
    const refreshMs = o.refreshMs ?? 20_000;
    // A check soon after a plan's own dispatch is skipped: nothing can have lapsed since.
    if (refreshMs > 0)
      this.sub.add(
        timer(refreshMs, refreshMs).subscribe(() => {
          if (performance.now() - this.lastDispatch >= refreshMs / 2) void this.dispatch();
        }),
      );
    return this;
  }

  private report(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const waiting = err instanceof ValidationError && err.code === OPT_ERRORS.state;
    this.events.next(waiting ? { kind: 'waiting', message } : { kind: 'error', message });
  }

  /** The request for the slot in force, or null (reported) while the state is incomplete. */
  private async request(
    state: LiveState,
    obligations: readonly SiteCommitment[],
    slots: number,
    slotMinutes: number,
  ): Promise<{ request: PlanRequest; state: LiveState } | null> {
    const o = this.o;
    const now = o.clock();
    const slot = this.slotAt(now);
    const startMs = slot * this.slotMs;
    const forecast = await o.forecast(startMs, slots, slotMinutes);
    const priced = o.prices ? await o.prices(startMs, slots, slotMinutes) : null;
    const limits = obligationLimits(o.site, obligations, startMs, slots, slotMinutes);
    const inputs: SiteInputs = {
      startMs,
      slots,
      slotMinutes,
      state: { socPct: { ...state.socPct }, temperatureC: { ...state.temperatureC } },
      forecast,
      prices: priced
        ? { import: priced.import, export: priced.export }
        : tariffPrices(o.tariff ?? DEFAULT_TARIFF, startMs, slots, slotMinutes, o.site.timezone),
      currency: priced?.currency ?? (o.tariff ?? DEFAULT_TARIFF).currency,
      ...(priced?.peakPeriods ? { peakPeriods: priced.peakPeriods } : {}),
      ...(priced?.notes ? { priceNotes: priced.notes } : {}),
      ...(limits ? { grid: limits } : {}),
      batteryWearPerKwh: o.batteryWearPerKwh ?? 0,
      ...(obligations.length > 0
        ? {
            obligations,
            reservations: obligationReservations(obligations, startMs, slots, slotMinutes),
          }
        : {}),
    };
    const problem = siteProblem(o.site, inputs);
    return { request: { slot, startMs, problem, inputs }, state };
  }

  /** Send the setpoints of the slot in force now (one dispatch at a time). */
  dispatch(): Promise<void> {
    const run = this.dispatching.then(async () => {
      const sink = this.o.sink;
      if (!sink || this.stopped || !this.current.value) return;
      const wait = this.lastDispatch + (this.o.minDispatchGapMs ?? 6_000) - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Read the plan after waiting: a newer one may have arrived meanwhile.
      const plan = this.current.value;
      if (!plan || this.stopped) return;
      const slot = this.slotAt(this.o.clock());
      if (slot - plan.slot >= plan.schedule.importKw.length) return;
      const setpoints = setpointsAt(plan, slot, this.controlled, this.pv);
      if (setpoints.length === 0) return;
      this.lastDispatch = performance.now();
      const why = whyText(
        plan,
        slot,
        this.slotMs,
        this.planAt.get(plan) ?? plan.slot * this.slotMs,
        setpoints,
        this.o.site.timezone,
      );
      try {
        const writes = await sink.send(this.o.site, setpoints, why);
        this.events.next({ kind: 'dispatch', slot, setpoints, writes });
      } catch (err) {
        this.report(err);
      }
    });
    this.dispatching = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.sub = null;
    await this.dispatching;
    this.events.complete();
  }
}

/** The site's PV assets. */
function sitePv(site: Site): PvAsset[] {
  return site.buildings.flatMap((b) => b.assets).filter((a): a is PvAsset => a.type === 'pv');
}

const hhmm = (ms: number, tz: string) => {
  const t = localTime(ms, tz);
  return `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
};

/**
 * Why a dispatch writes, as a building manager reads it in the site's local time:
 * "Plan for 14:15–14:30 (solved at 14:12): battery idle".
 */
export function whyText(
  plan: Plan,
  slot: number,
  slotMs: number,
  planAtMs: number,
  setpoints: readonly AssetSetpoint[],
  tz: string,
): string {
  const how =
    plan.source === 'solved'
      ? `solved at ${hhmm(planAtMs, tz)}`
      : plan.source === 'previous'
        ? `previous plan kept at ${hhmm(planAtMs, tz)}`
        : `no solve, baseline at ${hhmm(planAtMs, tz)}`;
  return `Plan for ${hhmm(slot * slotMs, tz)}–${hhmm((slot + 1) * slotMs, tz)} (${how}): ${describe(setpoints)}`;
}

function describe(setpoints: readonly AssetSetpoint[]): string {
  return setpoints
    .map((s) =>
      s.type === 'battery'
        ? `${s.assetId} ${s.kw > 1e-3 ? `charging ${s.kw.toFixed(1)} kW` : s.kw < -1e-3 ? `discharging ${(-s.kw).toFixed(1)} kW` : 'idle'}`
        : s.type === 'pv'
          ? s.release
            ? `${s.assetId} unlimited`
            : `${s.assetId} limited to ${(-s.kw).toFixed(1)} kW${s.shortKw ? ` (${s.shortKw.toFixed(1)} kW short)` : ''}`
          : `${s.assetId} ${s.kw.toFixed(1)} kW`,
    )
    .join(', ');
}

/** A tariff from a config value; a ValidationError names the field. */
export function parseTariff(raw: unknown): Tariff {
  return parseOrThrow(TariffSchema, raw, 'tariff');
}
