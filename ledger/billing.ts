import { GridflexError } from '../model/index.js';
import { allocate } from './allocate.js';
import { type BatteryContent, batteryPool } from './battery.js';
import { type Community, type Tariff, tariffAt } from './community.js';
import { parseScaled } from './decimal.js';
import { LEDGER_ERRORS } from './errors.js';
import { Flag, QUARTER_MS, type ReadingsBatch, seriesFor } from './readings.js';
import { apportion, apportionRational, hashId, roundHalfUp } from './rounding.js';
import { localTime, type Period } from './time.js';

/**
 * Billing of one period: allocation, then money in integer minor units.
 *
 * Rounding policy (documented in the README):
 * - solar: each bill's solar line per tariff version is rounded half up; the internal solar
 *   revenue is the sum of those lines, so it matches the bills by construction;
 * - grid: the community's grid cost per tariff version and zone is priced once (half up), as the
 *   grid operator invoices it, and split over the bills by their grid mWh with largest remainder;
 * - fees: a unit's monthly fee is pro-rated by the quarter-hours each recipient held the unit,
 *   largest remainder, so a tenant change splits it exactly;
 * - VAT per rate on each bill's net, half up; a bill's total is the sum of its lines.
 * 1 money unit here = 1 minor unit (Rappen, cent); prices are micro-units per kWh, energy mWh,
 * so an amount is mWh × price / 10^10.
 */
const SCALE = 10_000_000_000n;

export interface BillLine {
  kind: 'solar' | 'grid' | 'fee' | 'vat';
  label: string;
  tariffVersion: string;
  /** Energy of the line, mWh (0 for fees and VAT). */
  mWh: number;
  /** Micro-units per kWh for energy lines; basis points for VAT. */
  unitPrice: string;
  amountMinor: number;
}

export interface Bill {
  id: string;
  community: string;
  period: string;
  /** The community's time zone, in which the bill shows its dates. */
  timezone: string;
  currency: 'CHF' | 'EUR';
  recipient: { id: string; name: string; role: 'tenant' | 'owner'; unit: string; unitName: string };
  /** UTC instants of the first and last+1 interval billed to this recipient. */
  fromMs: number;
  toMs: number;
  intervals: number;
  lines: BillLine[];
  netMinor: number;
  vatMinor: number;
  totalMinor: number;
  energy: { consumptionMwh: number; solarMwh: number; gridMwh: number; selfSufficiencyBp: number };
  /** What the same consumption would have cost from the grid alone (energy only, before VAT). */
  gridOnlyMinor: number;
  savingMinor: number;
  /** Static share (ppm) and method, to explain the allocation with the resident's own numbers. */
  method: { name: string; hybridVariant: string | null; sharePpm: number };
  daily: { date: string; solarMwh: number; gridMwh: number }[];
  quality: { estimatedIntervals: number; sourceEstimatedIntervals: number; clampedIntervals: number };
  capCheck: { variant: string; passed: boolean; detail: string }[];
  tariffs: Tariff['source'][];
}

export interface Summary {
  community: string;
  period: string;
  currency: 'CHF' | 'EUR';
  intervals: number;
  productionMwh: number;
  consumptionMwh: number;
  selfConsumedMwh: number;
  exportedMwh: number;
  selfConsumptionBp: number;
  autarkyBp: number;
  /** The grid operator's invoice as priced per tariff version and zone. */
  gridInvoice: { tariffVersion: string; zone: string; mWh: number; amountMinor: number }[];
  solarRevenueMinor: number;
  feedIn: { party: string; amountMinor: number }[];
  /** Import measured at the grid connection meter, when its readings were given. */
  gridMeterMwh: number | null;
  /**
   * Grid meter import − Σ grid billed to units: unmetered and common-area use, meter tolerance,
   * and under method S grid "flows" that did not happen (§ 9.12, 9.29). Shown, never hidden in a bill.
   */
  gridResidualMwh: number | null;
  billsTotalMinor: number;
  perBill: { id: string; name: string; unit: string; totalMinor: number }[];
  /**
   * The shared battery's tracked content at the start and end of the period (solar and grid
   * parts, mWh) and the energy it took from and gave as grid; null without a battery.
   */
  battery?: {
    opening: BatteryContent;
    closing: BatteryContent;
    gridChargedMwh: number;
    gridDischargedMwh: number;
  } | null;
}

export interface Billing {
  bills: Bill[];
  summary: Summary;
  /** The 15-minute allocation, for the CSV export: one row per interval and unit. */
  intervals: {
    startMs: number;
    production: Float64Array;
    exported: Float64Array;
    consumption: Float64Array;
    solar: Float64Array;
    flags: Uint8Array;
  };
}

const isoDay = (wd: number) => (wd === 0 ? 7 : wd);

function zoneOf(t: Tariff, weekday: number, minute: number): number {
  for (let z = 0; z < t.zones.length; z++)
    for (const w of t.zones[z]!.windows) {
      if (!w.days.includes(isoDay(weekday))) continue;
      const inside =
        w.fromMin < w.toMin
          ? minute >= w.fromMin && minute < w.toMin
          : minute >= w.fromMin || minute < w.toMin;
      if (inside) return z;
    }
  return t.zones.length - 1;
}

export interface BillOptions {
  /** The battery content carried over from the previous period (its summary's `battery.closing`). */
  batteryOpening?: BatteryContent;
}

export function billPeriod(
  c: Community,
  period: Period,
  batch: ReadingsBatch,
  options: BillOptions = {},
): Billing {
  const cfg = c.config;
  const units = cfg.units;
  const n = units.length;
  const T = (period.endMs - period.startMs) / QUARTER_MS;
  const series = (m: string) => seriesFor(batch, m, period.startMs, period.endMs);

  // Pool: production, minus PV into the shared battery, plus what it gives back.
  const production = new Float64Array(T);
  for (const p of cfg.production) {
    const s = series(p.meter);
    for (let t = 0; t < T; t++) production[t]! += s.values[t]!;
  }
  let battery: Summary['battery'] = null;
  if (cfg.battery) {
    const ch = series(cfg.battery.chargeMeter).values;
    const dis = series(cfg.battery.dischargeMeter).values;
    const opening = options.batteryOpening ?? { solarMwh: 0, gridMwh: 0 };
    const capacity = cfg.battery.capacityKwh;
    const b = batteryPool(
      production,
      ch,
      dis,
      opening,
      capacity === undefined ? undefined : Number(parseScaled(capacity, 6, 'battery.capacityKwh')),
    );
    production.set(b.pool);
    const total = (a: Float64Array) => a.reduce((s, x) => s + x, 0);
    battery = {
      opening,
      closing: b.closing,
      gridChargedMwh: total(b.gridCharged),
      gridDischargedMwh: total(b.gridDischarged),
    };
  }
  const consumption = new Float64Array(T * n);
  const flags = new Uint8Array(T * n);
  units.forEach((u, i) => {
    const s = series(u.meter);
    for (let t = 0; t < T; t++) {
      consumption[t * n + i] = s.values[t]!;
      flags[t * n + i] = s.flags[t]!;
    }
  });
  const { solar, exported } = allocate({
    method: cfg.allocation.method,
    sharesPpm: c.sharesPpm,
    production,
    consumption,
    startMs: period.startMs,
    stepMs: QUARTER_MS,
    idHashes: units.map((u) => hashId(u.id)),
  });

  // Tariff version and zone of each interval, from local time.
  const versions: Tariff[] = [];
  const vOf = new Int32Array(T);
  const zOf = new Int32Array(T);
  const dayOf = new Int32Array(T);
  const dates: string[] = [];
  for (let t = 0; t < T; t++) {
    const ms = period.startMs + t * QUARTER_MS;
    const tariff = tariffAt(c, ms);
    let v = versions.indexOf(tariff);
    if (v < 0) v = versions.push(tariff) - 1;
    const lt = localTime(ms, c.tz);
    vOf[t] = v;
    zOf[t] = zoneOf(tariff, lt.weekday, lt.hour * 60 + lt.minute);
    if (dates[dates.length - 1] !== lt.date) dates.push(lt.date);
    dayOf[t] = dates.length - 1;
  }
  const firstOfDay = dates.map((_, d) => dayOf.indexOf(d));
  const lastOfDay = dates.map((_, d) => dayOf.lastIndexOf(d));
  const V = versions.length;
  const Z = Math.max(...versions.map((v) => v.zones.length));
  const D = dates.length;

  // Recipients: members while they hold a unit, the owner while it is vacant. Sums of integer
  // mWh stay exact in doubles below 2^53 (9 TWh); money uses bigint.
  interface Acc {
    id: string;
    name: string;
    role: 'tenant' | 'owner';
    unit: number;
    cons: Float64Array;
    grid: Float64Array;
    intervalsPerVersion: number[];
    first: number;
    last: number;
    intervals: number;
    /** Per local day: solar, grid. */
    daily: Float64Array;
    est: number;
    srcEst: number;
    clamped: number;
  }
  const recipients: Acc[] = [];
  const byId = new Map<string, Acc>();
  /** The recipient of unit u at interval t, and the first interval that is no longer theirs. */
  const segment = (u: number, t: number): [Acc, number] => {
    const ms = period.startMs + t * QUARTER_MS;
    const list = c.memberships[u]!;
    const m = list.find((x) => x.fromMs <= ms && ms < x.toMs);
    const endMs = m
      ? m.toMs
      : Math.min(...list.filter((x) => x.fromMs > ms).map((x) => x.fromMs), Number.POSITIVE_INFINITY);
    const end = Math.min(T, Math.ceil((endMs - period.startMs) / QUARTER_MS));
    const id = m ? m.recipient : `${units[u]!.id}:vacant`;
    let acc = byId.get(id);
    if (!acc) {
      acc = {
        id,
        name: m ? m.name : units[u]!.owner,
        role: m ? m.role : 'owner',
        unit: u,
        cons: new Float64Array(V * Z),
        grid: new Float64Array(V * Z),
        intervalsPerVersion: new Array(V).fill(0),
        first: t,
        last: t,
        intervals: 0,
        daily: new Float64Array(D * 2),
        est: 0,
        srcEst: 0,
        clamped: 0,
      };
      byId.set(id, acc);
      recipients.push(acc);
    } else if (acc.unit !== u)
      throw new GridflexError(
        LEDGER_ERRORS.MEMBERS,
        `member ${id} holds two units; give each tenancy its own member id`,
        {
          kind: 'input',
        },
      );
    return [acc, end];
  };
  for (let u = 0; u < n; u++) {
    let end = 0;
    let r: Acc | undefined;
    for (let t = 0; t < T; t++) {
      if (t >= end || !r) [r, end] = segment(u, t);
      const k = vOf[t]! * Z + zOf[t]!;
      const cons = consumption[t * n + u]!;
      const sol = solar[t * n + u]!;
      r.cons[k]! += cons;
      r.grid[k]! += cons - sol;
      r.intervalsPerVersion[vOf[t]!]! += 1;
      r.last = t;
      r.intervals++;
      r.daily[dayOf[t]! * 2]! += sol;
      r.daily[dayOf[t]! * 2 + 1]! += cons - sol;
      const f = flags[t * n + u]!;
      if (f === Flag.estimated) r.est++;
      else if (f === Flag.sourceEstimated) r.srcEst++;
      else if (f === Flag.clamped) r.clamped++;
    }
  }

  const ties = recipients.map((r) => hashId(r.id));
  const lines: BillLine[][] = recipients.map(() => []);

  // Grid: one invoice amount per version and zone, split by grid mWh.
  const gridInvoice: Summary['gridInvoice'] = [];
  for (let v = 0; v < V; v++)
    for (let z = 0; z < versions[v]!.zones.length; z++) {
      const zone = versions[v]!.zones[z]!;
      const weights = recipients.map((r) => BigInt(r.grid[v * Z + z]!));
      const total = weights.reduce((a, b) => a + b, 0n);
      if (total === 0n) continue;
      const amount = roundHalfUp(total * zone.priceMicro, SCALE);
      gridInvoice.push({
        tariffVersion: versions[v]!.version,
        zone: zone.name,
        mWh: Number(total),
        amountMinor: Number(amount),
      });
      apportion(amount, weights, ties).forEach((a, i) => {
        if (weights[i]! > 0n)
          lines[i]!.push({
            kind: 'grid',
            label: `Grid energy, ${zone.name}`,
            tariffVersion: versions[v]!.version,
            mWh: Number(weights[i]!),
            unitPrice: zone.priceMicro.toString(),
            amountMinor: Number(a),
          });
      });
    }

  // Solar per recipient and version, half up per line.
  const solarPerVersion = recipients.map((r) =>
    versions.map((_, v) => {
      let s = 0n;
      for (let z = 0; z < Z; z++) s += BigInt(r.cons[v * Z + z]! - r.grid[v * Z + z]!);
      return s;
    }),
  );
  let solarRevenue = 0n;
  for (let i = 0; i < recipients.length; i++)
    versions.forEach((tariff, v) => {
      const mWh = solarPerVersion[i]![v]!;
      if (mWh === 0n) return;
      const amount = roundHalfUp(mWh * tariff.solarMicro, SCALE);
      solarRevenue += amount;
      lines[i]!.push({
        kind: 'solar',
        label: 'Solar energy from the building',
        tariffVersion: tariff.version,
        mWh: Number(mWh),
        unitPrice: tariff.solarMicro.toString(),
        amountMinor: Number(amount),
      });
    });

  // Fees: per unit and version, pro rata to the quarter-hours each recipient held the unit.
  const feesPerVersion = recipients.map(() => new Array<bigint>(V).fill(0n));
  for (let u = 0; u < n; u++) {
    const idx = recipients.map((r, i) => (r.unit === u ? i : -1)).filter((i) => i >= 0);
    versions.forEach((tariff, v) => {
      for (const fee of tariff.fees) {
        const nums = idx.map((i) => fee.perMonthMinor * BigInt(recipients[i]!.intervalsPerVersion[v]!));
        apportionRational(
          nums,
          BigInt(T),
          idx.map((i) => ties[i]!),
        ).forEach((a, j) => {
          const i = idx[j]!;
          if (nums[j] === 0n) return;
          feesPerVersion[i]![v]! += a;
          lines[i]!.push({
            kind: 'fee',
            label: fee.name,
            tariffVersion: tariff.version,
            mWh: 0,
            unitPrice: fee.perMonthMinor.toString(),
            amountMinor: Number(a),
          });
        });
      }
    });
  }

  const bills = recipients.map((r, i): Bill => {
    const unit = units[r.unit]!;
    // Swiss cap (Art. 16 EnV), tenants: solar price plus the fees attributed to solar
    // (fees × solar / consumption) per solar kWh must not exceed the cap:
    // (cap − price) × consumption ≥ fees × 10^10.
    const capCheck = versions.flatMap((tariff, v) => {
      const a = solarPerVersion[i]![v]!;
      let cons = 0n;
      for (let z = 0; z < Z; z++) cons += BigInt(r.cons[v * Z + z]!);
      if (r.role !== 'tenant' || a === 0n || cons === 0n) return [];
      const passed = (tariff.solarCapMicro - tariff.solarMicro) * cons >= feesPerVersion[i]![v]! * SCALE;
      const effective = tariff.solarMicro + (feesPerVersion[i]![v]! * SCALE) / cons;
      return [
        {
          variant: tariff.solarVariant,
          passed,
          detail: `${tariff.version}: solar ${tariff.solarMicro} + fees ${effective - tariff.solarMicro} = ${effective} µ/kWh, cap ${tariff.solarCapMicro} µ/kWh`,
        },
      ];
    });
    const failed = capCheck.find((x) => !x.passed);
    if (failed)
      throw new GridflexError(
        LEDGER_ERRORS.PRICE_CAP,
        `the bill for ${r.name} (${unit.name}) would break the Swiss solar price cap (${failed.variant}): ${failed.detail}; it is refused`,
        { kind: 'input', details: { recipient: r.id, ...failed } },
      );
    // VAT per rate on the net of each version's lines.
    const vatLines: BillLine[] = [];
    const byRate = new Map<bigint, bigint>();
    for (const l of lines[i]!) {
      const bp = versions.find((x) => x.version === l.tariffVersion)!.vatBp;
      byRate.set(bp, (byRate.get(bp) ?? 0n) + BigInt(l.amountMinor));
    }
    for (const [bp, base] of byRate)
      if (bp > 0n)
        vatLines.push({
          kind: 'vat',
          label: `VAT ${(Number(bp) / 100).toFixed(2)} % on ${cfg.currency} ${majorUnits(base)}`,
          tariffVersion: versions
            .filter((x) => x.vatBp === bp)
            .map((x) => x.version)
            .join('+'),
          mWh: 0,
          unitPrice: bp.toString(),
          amountMinor: Number(roundHalfUp(base * bp, 10_000n)),
        });
    const all = [...lines[i]!, ...vatLines];
    const net = lines[i]!.reduce((s, l) => s + l.amountMinor, 0);
    const vat = vatLines.reduce((s, l) => s + l.amountMinor, 0);
    let consumptionMwh = 0n;
    let gridMwh = 0n;
    let gridOnly = 0n;
    let energyCharges = 0n;
    for (let v = 0; v < V; v++)
      for (let z = 0; z < versions[v]!.zones.length; z++) {
        consumptionMwh += BigInt(r.cons[v * Z + z]!);
        gridMwh += BigInt(r.grid[v * Z + z]!);
        gridOnly += roundHalfUp(BigInt(r.cons[v * Z + z]!) * versions[v]!.zones[z]!.priceMicro, SCALE);
      }
    for (const l of lines[i]!) if (l.kind !== 'fee') energyCharges += BigInt(l.amountMinor);
    const solarMwh = consumptionMwh - gridMwh;
    return {
      id: `${cfg.id}-${period.label}-${r.id.replace(':', '-')}`,
      community: cfg.id,
      period: period.label,
      timezone: c.tz,
      currency: cfg.currency,
      recipient: { id: r.id, name: r.name, role: r.role, unit: unit.id, unitName: unit.name },
      fromMs: period.startMs + r.first * QUARTER_MS,
      toMs: period.startMs + (r.last + 1) * QUARTER_MS,
      intervals: r.intervals,
      lines: all,
      netMinor: net,
      vatMinor: vat,
      totalMinor: net + vat,
      energy: {
        consumptionMwh: Number(consumptionMwh),
        solarMwh: Number(solarMwh),
        gridMwh: Number(gridMwh),
        selfSufficiencyBp: consumptionMwh === 0n ? 0 : Number((solarMwh * 10_000n) / consumptionMwh),
      },
      gridOnlyMinor: Number(gridOnly),
      savingMinor: Number(gridOnly - energyCharges),
      method: {
        name: cfg.allocation.method,
        hybridVariant: cfg.allocation.method === 'hybrid' ? (cfg.allocation.hybridVariant ?? null) : null,
        sharePpm: c.sharesPpm[r.unit]!,
      },
      daily: dates
        .map((date, d) => ({ date, solarMwh: r.daily[d * 2]!, gridMwh: r.daily[d * 2 + 1]! }))
        .filter((_, d) => r.first <= lastOfDay[d]! && firstOfDay[d]! <= r.last),
      quality: { estimatedIntervals: r.est, sourceEstimatedIntervals: r.srcEst, clampedIntervals: r.clamped },
      capCheck,
      tariffs: versions.filter((_, v) => r.intervalsPerVersion[v]! > 0).map((x) => x.source),
    };
  });

  // Feed-in revenue per version, shared by the configured key.
  const exportedPerVersion = new Array<bigint>(V).fill(0n);
  for (let t = 0; t < T; t++) exportedPerVersion[vOf[t]!]! += BigInt(exported[t]!);
  const feedIn = c.feedInKeyPpm.map((k) => ({ party: k.party, amountMinor: 0 }));
  versions.forEach((tariff, v) => {
    const revenue = roundHalfUp(exportedPerVersion[v]! * tariff.feedInMicro, SCALE);
    apportion(
      revenue,
      c.feedInKeyPpm.map((k) => k.ppm),
      c.feedInKeyPpm.map((k) => hashId(k.party)),
    ).forEach((a, i) => {
      feedIn[i]!.amountMinor += Number(a);
    });
  });

  const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);
  const productionMwh = sum(production);
  const consumptionMwh = sum(consumption);
  const selfConsumedMwh = sum(solar);
  let gridMeterMwh: number | null = null;
  if (batch.meters.has(cfg.gridMeter)) gridMeterMwh = sum(series(cfg.gridMeter).values);
  const summary: Summary = {
    community: cfg.id,
    period: period.label,
    currency: cfg.currency,
    intervals: T,
    productionMwh,
    consumptionMwh,
    selfConsumedMwh,
    exportedMwh: sum(exported),
    selfConsumptionBp: productionMwh === 0 ? 0 : Math.floor((selfConsumedMwh * 10_000) / productionMwh),
    autarkyBp: consumptionMwh === 0 ? 0 : Math.floor((selfConsumedMwh * 10_000) / consumptionMwh),
    gridInvoice,
    solarRevenueMinor: Number(solarRevenue),
    feedIn,
    gridMeterMwh,
    gridResidualMwh: gridMeterMwh === null ? null : gridMeterMwh - (consumptionMwh - selfConsumedMwh),
    billsTotalMinor: bills.reduce((s, b) => s + b.totalMinor, 0),
    perBill: bills.map((b) => ({
      id: b.id,
      name: b.recipient.name,
      unit: b.recipient.unit,
      totalMinor: b.totalMinor,
    })),
    battery,
  };
  return {
    bills,
    summary,
    intervals: { startMs: period.startMs, production, exported, consumption, solar, flags },
  };
}

/** 16069n → "160.69" (both currencies have cents). */
function majorUnits(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}
