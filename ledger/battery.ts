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
 * - the content before the period is unknown: a discharge beyond the tracked content counts
 *   as grid, so the pool can only be understated, never overstated.
 */
export interface BatteryPool {
  /** Production − PV into the battery + the solar part of the discharge, per interval. */
  pool: Float64Array;
  /** Charged from the grid, per interval. */
  gridCharged: Float64Array;
  /** The discharge's part that is not solar (grid-charged, or of unknown origin), per interval. */
  gridDischarged: Float64Array;
}

export function batteryPool(
  production: Float64Array,
  charge: Float64Array,
  discharge: Float64Array,
): BatteryPool {
  const T = production.length;
  const pool = new Float64Array(T);
  const gridCharged = new Float64Array(T);
  const gridDischarged = new Float64Array(T);
  let solarIn = 0;
  let gridIn = 0;
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
    const product = known * solarIn;
    const fromSolar =
      content === 0
        ? 0
        : product <= Number.MAX_SAFE_INTEGER
          ? Math.floor(product / content)
          : Number((BigInt(known) * BigInt(solarIn)) / BigInt(content));
    solarIn -= fromSolar;
    gridIn -= known - fromSolar;
    pool[t] = p - pv + fromSolar;
    gridDischarged[t] = d - fromSolar;
  }
  return { pool, gridCharged, gridDischarged };
}
