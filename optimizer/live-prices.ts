import type { PeakPeriod } from './problem.js';
import type { PriceReading } from './tariffs/entsoe-source.js';
import { tariffSlotPrices, versionAt } from './tariffs/prices.js';
import type { SiteTariff } from './tariffs/schema.js';

/** What the live loop prices a horizon with (README "Live loop"). */
export interface HorizonPrices {
  import: number[];
  export: number[];
  currency: string;
  /** Demand charges per billing month of the horizon (the LP's `peakPeriods`). */
  peakPeriods?: PeakPeriod[];
  /** Where the prices came from, stored with the plan: a stale spot source says why. */
  notes?: {
    stale: boolean;
    error?: string;
    notice?: string;
    estimatedSpotSlots: number[];
    /** The tariff and its version in force at the horizon's start, for the plan page. */
    tariff?: { id: string; validFrom: string };
  };
}

/** Per-slot prices for the horizon starting at `startMs`. */
export type PriceProvider = (startMs: number, slots: number, slotMinutes: number) => Promise<HorizonPrices>;

/** Day-ahead prices over [fromMs, toMs): `EntsoePriceSource`, or anything that reads the same. */
export interface SpotSource {
  get(fromMs: number, toMs: number): Promise<PriceReading>;
}

/**
 * The prices of a site's `SiteTariff` (tariffs/): energy, grid fees and VAT per slot, feed-in,
 * one demand-charge period per billing month with the month's peak so far as its floor
 * (`peakSoFarKw(startMs)`, e.g. `monthPeakSoFar` on the grid meter), and day-ahead prices
 * from `spot` where a version is spot-indexed (fetched for the horizon; a source that fails
 * serves its last known prices, and the notes say so; slots past the published ones repeat
 * the day before, listed in the notes).
 */
export function siteTariffPrices(
  tariff: SiteTariff,
  o: { spot?: SpotSource; peakSoFarKw?: (nowMs: number) => Promise<{ month: string; kw: number }> } = {},
): PriceProvider {
  const spotIndexed = tariff.versions.some((v) => v.energy.kind === 'spot' || v.feedIn.kind === 'spot');
  return async (startMs, slots, slotMinutes) => {
    const endMs = startMs + slots * slotMinutes * 60_000;
    // A day before the horizon too: slots not yet published repeat the day before.
    const reading = spotIndexed && o.spot ? await o.spot.get(startMs - 86_400_000, endMs) : null;
    const soFar =
      o.peakSoFarKw && versionAt(tariff, startMs).peakCharge ? await o.peakSoFarKw(startMs) : null;
    const p = tariffSlotPrices(tariff, {
      startMs,
      slots,
      slotMinutes,
      ...(reading ? { spot: reading.prices } : {}),
      ...(soFar ? { peakSoFarKw: { [soFar.month]: soFar.kw } } : {}),
    });
    return {
      import: p.import,
      export: p.export,
      currency: tariff.currency,
      ...(p.peakPeriods.length > 0 ? { peakPeriods: p.peakPeriods.map(({ month: _, ...m }) => m) } : {}),
      notes: {
        stale: reading?.stale ?? false,
        ...(reading?.error ? { error: reading.error } : {}),
        ...(reading?.notice ? { notice: reading.notice } : {}),
        estimatedSpotSlots: p.estimatedSpotSlots,
        tariff: { id: tariff.id, validFrom: versionAt(tariff, startMs).validFrom },
      },
    };
  };
}
