import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema, localDayStart } from '../../model/index.js';
import type { StoredPlan } from '../../optimizer/index.js';
import { type AppContext, siteCurrency } from '../context.js';
import { actualPoints, batteryKw, seriesKw } from './plan.js';
import { SITE_STAFF_ACCESS, siteOr404 } from './site-lookup.js';

const H = 3_600_000;

/** One slot of the day: its prices and, where known, the grid and battery power (kW). */
export interface SavingsSlot {
  importPrice: number | null;
  exportPrice: number | null;
  /** Grid connection, import positive. */
  gridKw: number | null;
  /** All batteries, charging positive. */
  batteryKw: number | null;
}

/**
 * What running the batteries saved in these slots against the optimiser's no-control baseline
 * (optimizer/baseline.ts: batteries idle, so the grid would have carried what they charged or
 * discharged): per slot the cost of `grid − battery` minus the cost of `grid`, import at the
 * import price, export earning the export price. Slots without prices or a grid value count
 * for nothing (`slots` says how many counted).
 */
export function batterySavings(
  slots: readonly SavingsSlot[],
  slotMinutes: number,
): { saved: number; slots: number } {
  const hours = slotMinutes / 60;
  const cost = (kw: number, s: SavingsSlot) => kw * hours * (kw > 0 ? s.importPrice! : s.exportPrice!);
  let saved = 0;
  let counted = 0;
  for (const s of slots) {
    if (s.gridKw === null || s.importPrice === null || s.exportPrice === null) continue;
    saved += cost(s.gridKw - (s.batteryKw ?? 0), s) - cost(s.gridKw, s);
    counted += 1;
  }
  return { saved, slots: counted };
}

const SavingsViewSchema = z.object({
  site: z.string(),
  currency: z
    .string()
    .nullable()
    .describe(
      "The site's currency (its configured tariff's, else its newest plan's); null when neither is known",
    ),
  fromMs: z.number().describe('Local midnight of today, in the site’s time zone'),
  nowMs: z.number(),
  toMs: z.number().describe('The next local midnight'),
  slotMinutes: z.number(),
  savedSoFar: z
    .number()
    .nullable()
    .describe('Measured: saved in the slots of today that have ended, from the stored readings'),
  measuredSlots: z.number().int().describe('How many ended slots had readings and prices'),
  endedSlots: z.number().int(),
  plannedToday: z
    .number()
    .nullable()
    .describe('Planned: the same rule over the plans in force for all of today'),
});

/** The plan covering `startMs`: the newest whose horizon contains it, with the slot's index in it. */
function planAt(plans: readonly StoredPlan[], startMs: number): { p: StoredPlan; t: number } | null {
  for (let i = plans.length - 1; i >= 0; i--) {
    const p = plans[i]!;
    const t = Math.round((startMs - p.startMs) / (p.slotMinutes * 60_000));
    if (t >= 0 && t < p.schedule.importKw.length) return { p, t };
  }
  return null;
}

/**
 * Today's savings of a site, measured and planned by one rule (`batterySavings`): measured from
 * the grid and battery meters' 15-minute means of the ended slots since local midnight,
 * planned from what the plans in force scheduled for the whole day.
 */
export function savingsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const plans = ctx.modules.plans;
    app.get(
      '/api/sites/:site/savings',
      {
        config: {
          access: SITE_STAFF_ACCESS,
        },
        schema: {
          summary: "Today's savings of the site's batteries: saved so far (measured) and planned for the day",
          tags: ['optimizer'],
          params: z.object({ site: IdSchema }),
          response: { 200: SavingsViewSchema },
        },
      },
      async (req) => {
        const site = siteOr404(ctx, req.params.site);
        const nowMs = Date.now();
        const fromMs = localDayStart(nowMs, site.timezone);
        // 36 h after midnight is always in the next day (days have 23 to 25 hours).
        const toMs = localDayStart(fromMs + 36 * H, site.timezone);
        const latest = await plans.latest(site.id);
        const slotMinutes = latest?.slotMinutes ?? 15;
        const slotMs = slotMinutes * 60_000;
        const slots = Math.round((toMs - fromMs) / slotMs);
        const ended = Math.floor((nowMs - fromMs) / slotMs);
        // Plans made since a day before midnight, oldest first, so the newest covering a slot wins.
        const listed = await plans.list(site.id, fromMs - 24 * H, toMs);
        const inForce: StoredPlan[] = [];
        for (const s of listed.sort((a, b) => a.id - b.id)) {
          const p = latest?.id === s.id ? latest : await plans.get(s.id);
          if (p) inForce.push(p);
        }
        const points = actualPoints(site, plans.gridPowerPoints);
        const [grid, battery] = await Promise.all([
          seriesKw(ctx.store.readings, points.grid, fromMs, ended, slotMs, 1),
          // Battery power points read positive when discharging (SunSpec model 103).
          seriesKw(ctx.store.readings, points.battery, fromMs, ended, slotMs, -1),
        ]);
        const day = Array.from({ length: slots }, (_, i) => {
          const at = planAt(inForce, fromMs + i * slotMs);
          const prices = at?.p.request.problem.prices;
          return {
            at,
            importPrice: prices?.import[at!.t] ?? null,
            exportPrice: prices?.export[at!.t] ?? null,
          };
        });
        const measured = batterySavings(
          day.slice(0, ended).map((s, i) => ({
            importPrice: s.importPrice,
            exportPrice: s.exportPrice,
            // A slot whose battery was not measured is not counted (its saving is unknown).
            gridKw: points.battery.length > 0 && battery[i] === null ? null : (grid[i] ?? null),
            batteryKw: battery[i] ?? null,
          })),
          slotMinutes,
        );
        const planned = batterySavings(
          day.map((s) => ({
            importPrice: s.importPrice,
            exportPrice: s.exportPrice,
            gridKw: s.at
              ? (s.at.p.schedule.importKw[s.at.t] ?? 0) - (s.at.p.schedule.exportKw[s.at.t] ?? 0)
              : null,
            batteryKw: s.at ? batteryKw(s.at.p, s.at.t) : null,
          })),
          slotMinutes,
        );
        const currency = siteCurrency(ctx, req.params.site, latest?.request.inputs);
        return {
          site: site.id,
          currency,
          fromMs,
          nowMs,
          toMs,
          slotMinutes,
          savedSoFar: measured.slots > 0 ? measured.saved : null,
          measuredSlots: measured.slots,
          endedSlots: ended,
          plannedToday: planned.slots > 0 ? planned.saved : null,
        };
      },
    );
  };
}
