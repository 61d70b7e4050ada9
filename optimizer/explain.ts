import type { Layout } from './build.js';
import { familyOf, type LpModel, slotOf } from './lp.js';

/** A constraint family that limits the plan, with the slots where it is tight. */
export interface Binding {
  family: string;
  /** `upper`: at its maximum (import limit, full battery, comfort ceiling, …); `lower`: at its minimum. */
  at: 'upper' | 'lower';
  slots: number[];
}

export interface Explanation {
  /**
   * Per slot, the cost of one more kWh consumed in that slot (currency/kWh), from the dual of
   * the balance row; null when the solver gives no duals (jsl).
   */
  marginalPricePerKwh: number[] | null;
  binding: Binding[];
}

/** Families whose bounds are decisions worth explaining; plain non-negativity is not. */
const EXPLAINED =
  /^(grid\.(import|export)|pv\.used|battery\[.*\]\.soc|thermal\[.*\]\.temp|sheddable\[.*\]\.shed|.*\.(charge|discharge|power))$/;

/** Why the plan looks as it does: marginal prices and the tight constraint families. */
export function explain(
  lp: LpModel,
  layout: Layout,
  x: ArrayLike<number>,
  rowDual?: ArrayLike<number>,
): Explanation {
  const marginalPricePerKwh = rowDual ? layout.balanceRows.map((r) => (rowDual[r] ?? 0) / layout.dtH) : null;
  const groups = new Map<string, Binding>();
  const tol = 1e-6;
  // With the builder's column keys, a family is tested once, not a name made and parsed per
  // column (most of this function's time on small sites; the fleet runs it per site).
  const keys = lp.colKeys;
  const explained = keys ? new Int8Array(keys.families.length).fill(-1) : null;
  for (let j = 0; j < lp.numCols; j++) {
    let family: string;
    let slot: number | null;
    if (keys && explained && keys.slot[j]! >= 0) {
      const f = keys.family[j]!;
      if (explained[f] === -1) explained[f] = EXPLAINED.test(keys.families[f]!) ? 1 : 0;
      if (explained[f] === 0) continue;
      family = keys.families[f]!;
      slot = keys.slot[j]!;
    } else {
      const name = lp.colNames[j]!;
      family = familyOf(name);
      if (!EXPLAINED.test(family)) continue;
      slot = slotOf(name);
    }
    const v = x[j] ?? 0;
    const lo = lp.colLower[j]!;
    const hi = lp.colUpper[j]!;
    // A variable fixed at zero (no PV, no window) is not a decision.
    if (hi - lo <= tol) continue;
    let at: 'upper' | 'lower' | null = null;
    if (Number.isFinite(hi) && v >= hi - tol * Math.max(1, Math.abs(hi))) at = 'upper';
    else if (lo !== 0 && v <= lo + tol * Math.max(1, Math.abs(lo))) at = 'lower';
    if (at === null) continue;
    const key = `${family}|${at}`;
    const g = groups.get(key) ?? { family, at, slots: [] };
    if (slot !== null) g.slots.push(slot);
    groups.set(key, g);
  }
  return { marginalPricePerKwh, binding: [...groups.values()] };
}
