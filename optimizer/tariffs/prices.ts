import { GridflexError, localTime } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import type { PeakPeriod } from '../problem.js';
import type { SiteTariff, TariffVersion, TimeWindow } from './schema.js';
import { WEEKDAYS } from './schema.js';
import { type SpotPrice, slotSpotPrices } from './spot.js';

/**
 * A tariff turned into what the optimiser and the bill need, slot by slot. Pure: the horizon,
 * the tariff and the spot prices are passed in. Each slot is priced by the tariff version and
 * the windows in force at its start (local time of the tariff's zone).
 */

/** The version in force at an instant: the last whose local `validFrom` day has begun. */
export function versionAt(tariff: SiteTariff, ms: number): TariffVersion {
  const { date } = localTime(ms, tariff.timezone);
  let found: TariffVersion | undefined;
  for (const v of tariff.versions) if (v.validFrom <= date) found = v;
  if (!found || (tariff.validTo !== undefined && date >= tariff.validTo))
    throw new GridflexError(
      OPT_ERRORS.tariff,
      `tariff ${tariff.id} has no version in force on ${date} (versions from ${tariff.versions[0]!.validFrom}${tariff.validTo ? ` to ${tariff.validTo}` : ''})`,
      { kind: 'input', details: { tariff: tariff.id, date } },
    );
  return found;
}

function inWindow(w: TimeWindow, ms: number, tz: string): boolean {
  const lt = localTime(ms, tz);
  if (!w.days.includes(WEEKDAYS[lt.weekday]!)) return false;
  if (w.months && !w.months.includes(lt.month)) return false;
  const m = lt.hour * 60 + lt.minute;
  return w.from < w.to ? m >= w.from && m < w.to : m >= w.from || m < w.to;
}

function windowed(p: { otherPerKwh: number; windows: TimeWindow[] }, ms: number, tz: string): number {
  return p.windows.find((w) => inWindow(w, ms, tz))?.perKwh ?? p.otherPerKwh;
}

/** Local billing month `YYYY-MM` of an instant. */
export function billingMonth(ms: number, tz: string): string {
  return localTime(ms, tz).date.slice(0, 7);
}

export interface SlotPriceOptions {
  startMs: number;
  slots: number;
  slotMinutes: number;
  /** Day-ahead prices, needed when the energy or the feed-in price is spot-indexed. */
  spot?: readonly SpotPrice[];
  /** Per billing month `YYYY-MM`: the highest 15-minute mean import so far (kW), from the meter. */
  peakSoFarKw?: Readonly<Record<string, number>>;
}

export interface SlotPrices {
  /** Per kWh bought, VAT included: energy + grid fees. What the LP's `prices.import` takes. */
  import: number[];
  /** Per kWh sold (feed-in, no VAT). */
  export: number[];
  /** Per billing month the horizon touches with a demand charge (VAT included): the LP's `peakPeriods`. */
  peakPeriods: (PeakPeriod & { month: string })[];
  /** Slots whose spot price is yesterday's at the same time (today's not published yet). */
  estimatedSpotSlots: number[];
}

function spotOf(
  tariff: SiteTariff,
  o: SlotPriceOptions,
): { at: (t: number) => number; estimated: number[] } | null {
  if (!o.spot) return null;
  const wrong = o.spot.find((p) => p.currency !== tariff.currency);
  if (wrong)
    throw new GridflexError(
      OPT_ERRORS.tariff,
      `spot prices are in ${wrong.currency}, tariff ${tariff.id} in ${tariff.currency}`,
      { kind: 'input' },
    );
  const { perKwh, estimated } = slotSpotPrices(o.spot, o.startMs, o.slots, o.slotMinutes);
  return {
    estimated,
    at: (t) => {
      const v = perKwh[t];
      if (v === null || v === undefined)
        throw new GridflexError(
          OPT_ERRORS.tariff,
          `no spot price for ${new Date(o.startMs + t * o.slotMinutes * 60_000).toISOString()} (slot ${t}) nor the day before`,
          { kind: 'unavailable', details: { slot: t } },
        );
      return v;
    },
  };
}

/** Per-slot import/export prices and demand-charge periods of a tariff over a horizon. */
export function tariffSlotPrices(tariff: SiteTariff, o: SlotPriceOptions): SlotPrices {
  const tz = tariff.timezone;
  const slotMs = o.slotMinutes * 60_000;
  const spot = spotOf(tariff, o);
  const needSpot = () => {
    if (spot) return spot;
    throw new GridflexError(
      OPT_ERRORS.tariff,
      `tariff ${tariff.id} is spot-indexed: spot prices are needed`,
      {
        kind: 'input',
      },
    );
  };
  const imp: number[] = [];
  const exp: number[] = [];
  const peakPeriods: SlotPrices['peakPeriods'] = [];
  let usedSpot = false;
  for (let t = 0; t < o.slots; t++) {
    const ms = o.startMs + t * slotMs;
    const v = versionAt(tariff, ms);
    const e = v.energy;
    let energy: number;
    if (e.kind === 'fixed') energy = e.perKwh;
    else if (e.kind === 'timeOfUse') energy = windowed(e, ms, tz);
    else {
      energy = e.factor * needSpot().at(t) + e.markupPerKwh;
      usedSpot = true;
    }
    const vat = 1 + v.vatPercent / 100;
    imp.push((energy + windowed(v.gridFees, ms, tz)) * vat);
    const f = v.feedIn;
    if (f.kind === 'fixed') exp.push(f.perKwh);
    else {
      exp.push(f.factor * needSpot().at(t) + f.markupPerKwh);
      usedSpot = true;
    }
    // One demand-charge period per billing month, at the charge of the version in force at
    // its first slot in the horizon.
    const month = billingMonth(ms, tz);
    const open = peakPeriods.at(-1);
    if (open?.month === month && open.toSlot === t) open.toSlot = t + 1;
    else if (v.peakCharge && v.peakCharge.perKwMonth > 0)
      peakPeriods.push({
        month,
        fromSlot: t,
        toSlot: t + 1,
        chargePerKw: v.peakCharge.perKwMonth * vat,
        soFarKw: o.peakSoFarKw?.[month] ?? 0,
      });
  }
  return {
    import: imp,
    export: exp,
    peakPeriods,
    estimatedSpotSlots: usedSpot && spot ? spot.estimated : [],
  };
}
