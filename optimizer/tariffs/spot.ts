/**
 * Day-ahead (spot) prices as the tariff reads them: one price per interval [startMs, endMs),
 * per kWh in `currency`. Importers (ENTSO-E XML, CSV) produce these; `slotSpotPrices` turns
 * them into one price per planning slot.
 */
export interface SpotPrice {
  startMs: number;
  endMs: number;
  perKwh: number;
  currency: string;
  /** Bidding zone EIC, when the source says (ENTSO-E `in_Domain.mRID`). */
  zone?: string;
  /** ENTSO-E classification sequence (DE-LU/AT: 1 = SDAC, 2 = EXAA), when given. */
  sequence?: number;
}

const DAY_MS = 86_400_000;

/**
 * The time-weighted mean spot price over each slot. A slot the prices do not cover takes the
 * price of the same time one day earlier (tomorrow's prices are published around midday, a
 * 36-hour horizon needs a guess); its index is listed in `estimated`. A slot with no price on
 * either day is `null`.
 */
export function slotSpotPrices(
  prices: readonly SpotPrice[],
  startMs: number,
  slots: number,
  slotMinutes: number,
): { perKwh: (number | null)[]; estimated: number[] } {
  const sorted = [...prices].sort((a, b) => a.startMs - b.startMs);
  const slotMs = slotMinutes * 60_000;
  const meanOver = (from: number, to: number): number | null => {
    let sum = 0;
    let covered = 0;
    for (const p of sorted) {
      if (p.endMs <= from) continue;
      if (p.startMs >= to) break;
      const ms = Math.min(to, p.endMs) - Math.max(from, p.startMs);
      sum += p.perKwh * ms;
      covered += ms;
    }
    // A partly covered slot is priced on what is covered: a quarter-hour slot inside an hour
    // price is whole, a slot straddling the data's end keeps its known part.
    return covered > 0 ? sum / covered : null;
  };
  const perKwh: (number | null)[] = [];
  const estimated: number[] = [];
  for (let t = 0; t < slots; t++) {
    const from = startMs + t * slotMs;
    let v = meanOver(from, from + slotMs);
    if (v === null) {
      v = meanOver(from - DAY_MS, from - DAY_MS + slotMs);
      if (v !== null) estimated.push(t);
    }
    perKwh.push(v);
  }
  return { perKwh, estimated };
}
