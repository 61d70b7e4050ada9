import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema, localDayStart, type Site } from '../../model/index.js';
import type { StoredPlan } from '../../optimizer/index.js';
import { type ReadingsRepository, UnknownPointError } from '../../store/index.js';
import type { AppContext } from '../context.js';
import { SITE_STAFF_ACCESS, siteOr404 } from './site-lookup.js';

const SlotSchema = z.object({
  startMs: z.number(),
  importPrice: z.number(),
  exportPrice: z.number(),
  importKw: z.number(),
  exportKw: z.number(),
  pvUsedKw: z.number(),
  pvKw: z.number(),
  baseLoadKw: z.number(),
  marginalPrice: z.number().nullable().describe('Cost of one more kWh in the slot (dual of the balance)'),
  assets: z.record(z.string(), z.number()).describe('kW per asset; battery positive = charging'),
  batteryKw: z.number().nullable().describe('All batteries, positive = charging; null without a battery'),
});

const PlanViewSchema = z.object({
  site: z.string(),
  currency: z.string(),
  nowMs: z.number(),
  plan: z
    .object({
      id: z.number(),
      createdMs: z.number(),
      startMs: z.number(),
      slotMinutes: z.number(),
      source: z.enum(['solved', 'previous', 'baseline']),
      status: z.string(),
      message: z.string().nullable(),
      trigger: z.string().nullable(),
      objective: z.number().nullable(),
      baselineCost: z.number(),
      savings: z.number().nullable(),
      prices: z
        .object({
          tariff: z
            .object({ id: z.string(), validFrom: z.string() })
            .nullable()
            .describe(
              'The versioned tariff and the version in force at the plan start; null: a time-of-use tariff',
            ),
          stale: z.boolean().describe('The spot-price source failed: the plan used the last known prices'),
          error: z.string().nullable().describe('Why the prices are stale'),
          notice: z
            .string()
            .nullable()
            .describe("The price source's notice (e.g. no newer prices published yet)"),
          estimatedSpotSlots: z.number().describe('Slots priced with the day before (not published yet)'),
        })
        .nullable()
        .describe('Where the plan’s prices came from; null for plans priced without a versioned tariff'),
      slots: z.array(SlotSchema),
    })
    .nullable(),
  current: z
    .object({
      slot: z.number().int(),
      startMs: z.number(),
      setpoints: z.array(z.object({ assetId: z.string(), kw: z.number() })),
      importPrice: z.number(),
      marginalPrice: z.number().nullable(),
      binding: z.array(z.object({ family: z.string(), at: z.enum(['upper', 'lower']) })),
      summary: z.string(),
    })
    .nullable(),
  holds: z
    .array(
      z.object({
        assetId: z.string(),
        by: z
          .enum(['activation', 'frequency_response'])
          .describe('A market activation, or the response to the grid frequency (FCR-N, FCR-D, FFR)'),
        activationId: z.string().optional().describe('The activation holding it (by: activation)'),
        productId: z.string(),
        direction: z.enum(['up', 'down', 'both']),
        kw: z.number().describe("The site's part of the activation; a frequency response: the capacity held"),
      }),
    )
    .describe(
      'Assets a market activation or the frequency response holds now: the plan does not move them until it is done',
    ),
  today: z.object({
    fromMs: z.number(),
    toMs: z.number(),
    slotMinutes: z.number(),
    slots: z.array(
      z.object({
        startMs: z.number(),
        plannedGridKw: z.number().nullable(),
        actualGridKw: z.number().nullable(),
        plannedBatteryKw: z.number().nullable(),
        actualBatteryKw: z.number().nullable(),
      }),
    ),
  }),
});
type PlanView = z.infer<typeof PlanViewSchema>;

interface Inputs {
  forecast?: { pvKw?: number[]; baseLoadKw?: number[] };
  prices?: { import?: number[]; export?: number[] };
  currency?: string;
  trigger?: string;
  priceNotes?: {
    stale: boolean;
    error?: string;
    notice?: string;
    estimatedSpotSlots: number[];
    tariff?: { id: string; validFrom: string };
  };
}

export const batteryKw = (p: StoredPlan, t: number): number | null => {
  let sum: number | null = null;
  for (const a of Object.values(p.schedule.assets))
    if (a.type === 'battery') sum = (sum ?? 0) + (a.chargeKw[t] ?? 0) - (a.dischargeKw[t] ?? 0);
  return sum;
};

function slotsOf(p: StoredPlan): z.infer<typeof SlotSchema>[] {
  const inputs = (p.request.inputs ?? {}) as Inputs;
  const s = p.schedule;
  const slotMs = p.slotMinutes * 60_000;
  const prices = p.request.problem.prices;
  return s.importKw.map((importKw, t) => {
    const assets: Record<string, number> = {};
    for (const [id, a] of Object.entries(s.assets)) {
      if (a.type === 'battery') assets[id] = (a.chargeKw[t] ?? 0) - (a.dischargeKw[t] ?? 0);
      else if (a.type === 'sheddable') assets[id] = a.powerKw[t] ?? 0;
      else assets[id] = a.powerKw[t] ?? 0;
    }
    return {
      startMs: p.startMs + t * slotMs,
      importPrice: prices.import[t] ?? 0,
      exportPrice: prices.export[t] ?? 0,
      importKw,
      exportKw: s.exportKw[t] ?? 0,
      pvUsedKw: s.pvUsedKw[t] ?? 0,
      pvKw: inputs.forecast?.pvKw?.[t] ?? p.request.problem.pvKw[t] ?? 0,
      baseLoadKw: inputs.forecast?.baseLoadKw?.[t] ?? p.request.problem.baseLoadKw[t] ?? 0,
      marginalPrice: p.result?.explanation?.marginalPricePerKwh?.[t] ?? null,
      assets,
      batteryKw: batteryKw(p, t),
    };
  });
}

/** The decision of slot `t` in words (English; the web page words it in the user's language). */
function summary(
  p: StoredPlan,
  t: number,
  setpoints: { assetId: string; kw: number }[],
  importPrice: number,
) {
  const what = setpoints
    .map((s) =>
      Math.abs(s.kw) < 1e-3
        ? `${s.assetId} idle`
        : `${s.assetId} ${s.kw > 0 ? 'charge' : 'discharge'} ${Math.abs(s.kw).toFixed(1)} kW`,
    )
    .join(', ');
  if (p.source !== 'solved') return `${what || 'no flexible assets'}; ${p.message ?? 'a kept plan'}`;
  const mp = p.result?.explanation?.marginalPricePerKwh?.[t];
  return `${what || 'no flexible assets'}; import price now ${importPrice.toFixed(3)}/kWh${
    mp === undefined || mp === null ? '' : `, marginal price ${mp.toFixed(3)}/kWh`
  }`;
}

/** Points whose 15-minute means give the actual flows: the grid connection (`gridPowerPoints`) and batteries' `measure.power`. */
export function actualPoints(
  site: Site,
  gridPowerPoints: (site: Site) => string[],
): { grid: string[]; battery: string[] } {
  const battery = site.buildings
    .flatMap((b) => b.assets)
    .flatMap((a) => (a.type === 'battery' && a.measure.power ? [a.measure.power] : []));
  return { grid: gridPowerPoints(site), battery };
}

export async function seriesKw(
  readings: ReadingsRepository,
  keys: string[],
  fromMs: number,
  slots: number,
  slotMs: number,
  sign: 1 | -1,
): Promise<(number | null)[]> {
  const out: (number | null)[] = Array(slots).fill(keys.length ? 0 : null);
  for (const key of keys) {
    let buckets: { ts: number; mean: number | null }[] = [];
    try {
      buckets = (
        await readings.range({ pointId: key, from: fromMs, to: fromMs + slots * slotMs, bucketMs: slotMs })
      ).buckets;
    } catch (e) {
      if (!(e instanceof UnknownPointError)) throw e;
    }
    const seen = new Set<number>();
    for (const b of buckets) {
      const t = Math.round((b.ts - fromMs) / slotMs);
      if (t < 0 || t >= slots || b.mean === null || out[t] === null) continue;
      out[t] = (out[t] as number) + (sign * b.mean) / 1000;
      seen.add(t);
    }
    for (let t = 0; t < slots; t++) if (!seen.has(t)) out[t] = null;
  }
  return out;
}

/**
 * The site's plan: the newest stored plan of the live loop (optimizer/live.ts), today's
 * schedule against what was measured, and the explanation of the decision in force.
 */
export function planRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const plans = ctx.modules.plans;
    app.get(
      '/api/sites/:site/plan',
      {
        config: {
          access: SITE_STAFF_ACCESS,
        },
        schema: {
          summary:
            "The site's current plan, today's schedule against actual, and why the current decision was taken",
          tags: ['optimizer'],
          params: z.object({ site: IdSchema }),
          response: { 200: PlanViewSchema },
        },
      },
      async (req) => {
        const site = siteOr404(ctx, req.params.site);
        const nowMs = Date.now();
        const latest = await plans.latest(site.id);
        const slotMinutes = latest?.slotMinutes ?? 15;
        const slotMs = slotMinutes * 60_000;
        let plan: PlanView['plan'] = null;
        let current: PlanView['current'] = null;
        if (latest) {
          const inputs = (latest.request.inputs ?? {}) as Inputs;
          const savings = latest.objective === null ? null : latest.baselineCost - latest.objective;
          plan = {
            id: latest.id,
            createdMs: latest.createdMs,
            startMs: latest.startMs,
            slotMinutes,
            source: latest.source,
            status: latest.status,
            message: latest.message,
            trigger: inputs.trigger ?? null,
            objective: latest.objective,
            baselineCost: latest.baselineCost,
            savings,
            prices: inputs.priceNotes
              ? {
                  tariff: inputs.priceNotes.tariff ?? null,
                  stale: inputs.priceNotes.stale,
                  error: inputs.priceNotes.error ?? null,
                  notice: inputs.priceNotes.notice ?? null,
                  estimatedSpotSlots: inputs.priceNotes.estimatedSpotSlots.length,
                }
              : null,
            slots: slotsOf(latest),
          };
          const t = Math.floor((nowMs - latest.startMs) / slotMs);
          if (t >= 0 && t < latest.schedule.importKw.length) {
            const setpoints = plan.slots[t]
              ? Object.entries(latest.schedule.assets).flatMap(([id, a]) =>
                  a.type === 'battery' || a.type === 'ev'
                    ? [{ assetId: id, kw: plan!.slots[t]!.assets[id] ?? 0 }]
                    : [],
                )
              : [];
            const importPrice = latest.request.problem.prices.import[t] ?? 0;
            current = {
              slot: t,
              startMs: latest.startMs + t * slotMs,
              setpoints,
              importPrice,
              marginalPrice: latest.result?.explanation?.marginalPricePerKwh?.[t] ?? null,
              binding: (latest.result?.explanation?.binding ?? [])
                .filter((b) => b.slots.includes(t) || b.slots.includes(t + 1))
                .map((b) => ({ family: b.family, at: b.at })),
              summary: summary(latest, t, setpoints, importPrice),
            };
          }
        }
        const fromMs = localDayStart(nowMs, site.timezone);
        const slots = Math.round(86_400_000 / slotMs);
        const toMs = fromMs + slots * slotMs;
        // The plan in force in each slot of today: the newest one made for that slot.
        const inForce = new Map<number, number>();
        for (const s of await plans.list(site.id, fromMs, toMs)) inForce.set(s.startMs, s.id);
        const planned = new Map<number, { grid: number; battery: number | null }>();
        for (const [startMs, id] of inForce) {
          const p = latest?.id === id ? latest : await plans.get(id);
          if (p)
            planned.set(startMs, {
              grid: (p.schedule.importKw[0] ?? 0) - (p.schedule.exportKw[0] ?? 0),
              battery: batteryKw(p, 0),
            });
        }
        const points = actualPoints(site, plans.gridPowerPoints);
        const [grid, battery] = await Promise.all([
          seriesKw(ctx.store.readings, points.grid, fromMs, slots, slotMs, 1),
          // Battery power points read positive when discharging (SunSpec model 103); the plan's is charging.
          seriesKw(ctx.store.readings, points.battery, fromMs, slots, slotMs, -1),
        ]);
        return {
          site: site.id,
          // The plan's prices are in its own currency; without a plan, the site's tariff's.
          currency:
            ((latest?.request.inputs ?? {}) as Inputs).currency ?? ctx.siteCurrencies?.[site.id] ?? 'CHF',
          nowMs,
          plan,
          current,
          holds: (await ctx.assetHolds?.(site.id)) ?? [],
          today: {
            fromMs,
            toMs,
            slotMinutes,
            slots: Array.from({ length: slots }, (_, t) => {
              const startMs = fromMs + t * slotMs;
              const p = planned.get(startMs);
              return {
                startMs,
                plannedGridKw: p?.grid ?? null,
                actualGridKw: grid[t] ?? null,
                plannedBatteryKw: p?.battery ?? null,
                actualBatteryKw: battery[t] ?? null,
              };
            }),
          },
        };
      },
    );
  };
}
