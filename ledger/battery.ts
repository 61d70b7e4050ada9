/**
 * A shared battery in the solar pool (ledger.md § 9, edge 15): charging from PV is not
 * consumption that can be sold, and grid-charged energy must not be resold as solar.
 *
 * Rule, per interval (integer mWh):
 * - the battery charges from PV first: pvIn = min(charge, production); the rest of the charge,
 *   gridIn = charge − pvIn, came from the grid;
 * - its content is kept as two parts, solar and grid; a discharge takes both in proportion to
 *   the content (the solar part rounded down, so rounding never creates solar), and what it
 *   gave back joins the pool only for its solar part;
 * - round-trip losses are what never comes out: they shrink both parts alike, so they are
 *   borne by solar and grid in the proportion they went in;
 * - the content carries over: the previous period's closing content (its solar and grid
 *   parts, from the ledger) is this period's opening; without one (the first period) it is
 *   empty, and a discharge beyond the tracked content counts as grid, so the pool can only be
 *   understated, never overstated;
 * - with a capacity, content above it (what the tracking kept of the losses) is cut back to
 *   the capacity after each interval, both parts alike (solar rounded down); without one the
 *   tracked content keeps the losses and grows over the periods.
 */
export interface BatteryContent {
  solarMwh: number;
  gridMwh: number;
}

export interface BatteryPool {
  /** Production − PV into the battery + the solar part of the discharge, per interval. */
  pool: Float64Array;
  /** Charged from the grid, per interval. */
  gridCharged: Float64Array;
  /** The discharge's part that is not solar (grid-charged, or of unknown origin), per interval. */
  gridDischarged: Float64Array;
  /** The tracked content after the last interval: the next period's opening. */
  closing: BatteryContent;
}

function share(part: number, of: number, whole: number): number {
  const product = part * of;
  return product <= Number.MAX_SAFE_INTEGER
    ? Math.floor(product / whole)
    : Number((BigInt(part) * BigInt(of)) / BigInt(whole));
}

export function batteryPool(
  production: Float64Array,
  charge: Float64Array,
  discharge: Float64Array,
  opening: BatteryContent = { solarMwh: 0, gridMwh: 0 },
  capacityMwh?: number,
): BatteryPool {
  const T = production.length;
  const pool = new Float64Array(T);
  const gridCharged = new Float64Array(T);
  const gridDischarged = new Float64Array(T);
  let solarIn = opening.solarMwh;
  let gridIn = opening.gridMwh;
  for (let t = 0; t < T; t++) {
    const p = production[t]!;
    const ch = charge[t]!;
    const pv = Math.min(ch, p);
    solarIn += pv;
    gridIn += ch - pv;
    gridCharged[t] = ch - pv;
    const d = discharge[t]!;
    const content = solarIn + gridIn;
    const known = Math.min(d, content);
    const fromSolar = content === 0 ? 0 : share(known, solarIn, content);
    solarIn -= fromSolar;
    gridIn -= known - fromSolar;
    const left = solarIn + gridIn;
    if (capacityMwh !== undefined && left > capacityMwh) {
      solarIn = share(capacityMwh, solarIn, left);
      gridIn = capacityMwh - solarIn;
    }
    pool[t] = p - pv + fromSolar;
    gridDischarged[t] = d - fromSolar;
  }
  return { pool, gridCharged, gridDischarged, closing: { solarMwh: solarIn, gridMwh: gridIn } };
}
