import { billingMonth, tariffSlotPrices, versionAt } from './prices.js';
import type { SiteTariff } from './schema.js';
import type { SpotPrice } from './spot.js';

/**
 * The bill of a metered (or planned) load profile under a tariff, per local billing month.
 * The optimiser's estimate in floating point, for comparing plans and tariffs; the ledger bills
 * exactly (integer minor units).
 */
export interface LoadProfile {
  startMs: number;
  slotMinutes: number;
  /** Energy bought per slot (kWh). */
  importKwh: readonly number[];
  /** Energy sold per slot (kWh); none when absent. */
  exportKwh?: readonly number[];
}

export interface MonthBill {
  /** `YYYY-MM`, local. */
  month: string;
  importKwh: number;
  exportKwh: number;
  energy: number;
  gridFees: number;
  /** The month's highest 15-minute mean import (kW) within the profile. */
  peakKw: number;
  peakCharge: number;
  vat: number;
  /** Credited for exported energy. */
  feedIn: number;
  /** energy + gridFees + peakCharge + vat − feedIn */
  total: number;
}

const QUARTER_MS = 900_000;

/**
 * Bills each local month the profile touches. The peak is the highest mean over a clock
 * quarter-hour: slots of 15 minutes or less are summed per quarter (a quarter the profile only
 * partly covers counts what it has); a longer slot's own mean is used, since the quarter-hours
 * inside it are unknown (it can only understate the peak).
 */
export function billOf(
  tariff: SiteTariff,
  profile: LoadProfile,
  spot?: readonly SpotPrice[],
): { months: MonthBill[]; total: number } {
  const { startMs, slotMinutes, importKwh } = profile;
  const slots = importKwh.length;
  const slotMs = slotMinutes * 60_000;
  // Prices net of VAT: the VAT is billed as its own line.
  const net = {
    ...tariff,
    versions: tariff.versions.map((v) => ({ ...v, vatPercent: 0 })),
  };
  const withEnergyOnly = {
    ...net,
    versions: net.versions.map((v) => ({ ...v, gridFees: { otherPerKwh: 0, windows: [] } })),
  };
  const all = tariffSlotPrices(net, { startMs, slots, slotMinutes, ...(spot ? { spot } : {}) });
  const energyOnly = tariffSlotPrices(withEnergyOnly, {
    startMs,
    slots,
    slotMinutes,
    ...(spot ? { spot } : {}),
  });

  const months = new Map<string, MonthBill & { quarters: Map<number, number>; firstMs: number }>();
  for (let t = 0; t < slots; t++) {
    const ms = startMs + t * slotMs;
    const month = billingMonth(ms, tariff.timezone);
    let m = months.get(month);
    if (!m) {
      m = {
        month,
        importKwh: 0,
        exportKwh: 0,
        energy: 0,
        gridFees: 0,
        peakKw: 0,
        peakCharge: 0,
        vat: 0,
        feedIn: 0,
        total: 0,
        quarters: new Map(),
        firstMs: ms,
      };
      months.set(month, m);
    }
    const imp = importKwh[t] ?? 0;
    const exp = profile.exportKwh?.[t] ?? 0;
    const energy = energyOnly.import[t]! * imp;
    const fees = (all.import[t]! - energyOnly.import[t]!) * imp;
    m.importKwh += imp;
    m.exportKwh += exp;
    m.energy += energy;
    m.gridFees += fees;
    m.vat += ((energy + fees) * versionAt(tariff, ms).vatPercent) / 100;
    m.feedIn += all.export[t]! * exp;
    if (slotMinutes <= 15) {
      const q = Math.floor(ms / QUARTER_MS);
      m.quarters.set(q, (m.quarters.get(q) ?? 0) + imp);
    } else m.peakKw = Math.max(m.peakKw, imp / (slotMinutes / 60));
  }
  const out: MonthBill[] = [];
  for (const { quarters, firstMs, ...m } of months.values()) {
    for (const kwh of quarters.values()) m.peakKw = Math.max(m.peakKw, kwh / 0.25);
    // The demand charge of the version in force at the month's first slot, as in the LP.
    const version = versionAt(tariff, firstMs);
    m.peakCharge = (version.peakCharge?.perKwMonth ?? 0) * m.peakKw;
    m.vat += (m.peakCharge * version.vatPercent) / 100;
    m.total = m.energy + m.gridFees + m.peakCharge + m.vat - m.feedIn;
    out.push(m);
  }
  return { months: out, total: out.reduce((s, m) => s + m.total, 0) };
}
