import { GridflexError } from '../model/index.js';
import { MARKET_ERRORS } from './errors.js';

/**
 * Proof of delivery: delivered power against a baseline, per activation and site, and the
 * settlement rows a grid operator receives. Demand is consumption-positive kW per interval;
 * "up" delivery is baseline − metered, "down" is metered − baseline (markets.md B6.5).
 */

export interface SiteDeliveryInput {
  siteId: string;
  /** What this site was asked for (its share of the activation), kW. */
  requestedKw: number;
  /** Baseline per interval of the activation, kW. */
  baselineKw: number[];
  /** Metered demand per interval, kW. */
  meteredKw: number[];
}

export interface ActivationDeliveryInput {
  activationId: string;
  productId: string;
  direction: 'up' | 'down';
  startMs: number;
  intervalMs: number;
  sites: SiteDeliveryInput[];
}

export interface SiteDelivery {
  siteId: string;
  /** Delivered kW per interval (negative = moved the wrong way). */
  deliveredKw: number[];
  requestedKwh: number;
  deliveredKwh: number;
  /** Σ max(0, requested − delivered) over the intervals: over-delivery in one interval does not hide a gap in another. */
  shortfallKwh: number;
  meanDeliveredKw: number;
  /** deliveredKwh / requestedKwh (0 when nothing was requested). */
  performanceRatio: number;
}

export function siteDelivery(
  input: SiteDeliveryInput,
  direction: 'up' | 'down',
  intervalMs: number,
): SiteDelivery {
  if (input.baselineKw.length !== input.meteredKw.length)
    throw new GridflexError(
      MARKET_ERRORS.METER_DATA,
      `site ${input.siteId}: ${input.baselineKw.length} baseline values but ${input.meteredKw.length} metered`,
      { kind: 'input', details: { siteId: input.siteId } },
    );
  const h = intervalMs / 3_600_000;
  const sign = direction === 'up' ? 1 : -1;
  const deliveredKw = input.baselineKw.map((b, k) => sign * (b - input.meteredKw[k]!));
  const deliveredKwh = deliveredKw.reduce((a, d) => a + d * h, 0);
  const requestedKwh = input.requestedKw * h * deliveredKw.length;
  const shortfallKwh = deliveredKw.reduce((a, d) => a + Math.max(0, input.requestedKw - d) * h, 0);
  const hours = h * deliveredKw.length;
  return {
    siteId: input.siteId,
    deliveredKw,
    requestedKwh,
    deliveredKwh,
    shortfallKwh,
    meanDeliveredKw: hours === 0 ? 0 : deliveredKwh / hours,
    performanceRatio: requestedKwh === 0 ? 0 : deliveredKwh / requestedKwh,
  };
}

/**
 * One settlement row per activation and site, plus a `portfolio` row per activation.
 * Energy is in integer Wh: each site's figure is rounded once, half up (Math.round), from its
 * unrounded sum; the portfolio row adds the rounded site figures, so the rows add up exactly,
 * except its shortfall, which is the portfolio's own (per interval, after netting the sites).
 * The ratio is deliveredWh / requestedWh rounded to 4 decimals.
 */
export interface SettlementRow {
  activationId: string;
  productId: string;
  siteId: string;
  /** ISO 8601, UTC. */
  start: string;
  end: string;
  requestedKw: number;
  requestedWh: number;
  baselineWh: number;
  meteredWh: number;
  deliveredWh: number;
  shortfallWh: number;
  performanceRatio: number;
}

export const PORTFOLIO = 'portfolio';

const ratio = (delivered: number, requested: number) =>
  requested === 0 ? 0 : Math.round((delivered / requested) * 10_000) / 10_000;

export function settlementRows(activations: ActivationDeliveryInput[]): SettlementRow[] {
  const rows: SettlementRow[] = [];
  for (const act of activations) {
    const n = Math.max(0, ...act.sites.map((s) => s.meteredKw.length));
    const start = new Date(act.startMs).toISOString();
    const end = new Date(act.startMs + n * act.intervalMs).toISOString();
    const h = act.intervalMs / 3_600_000;
    const kwh = (xs: number[]) => xs.reduce((a, x) => a + x * h, 0);
    const deliveries = act.sites.map((s) => siteDelivery(s, act.direction, act.intervalMs));
    const siteRows = act.sites.map((s, k): SettlementRow => {
      const d = deliveries[k]!;
      const requestedWh = Math.round(d.requestedKwh * 1000);
      const deliveredWh = Math.round(d.deliveredKwh * 1000);
      return {
        activationId: act.activationId,
        productId: act.productId,
        siteId: s.siteId,
        start,
        end,
        requestedKw: s.requestedKw,
        requestedWh,
        baselineWh: Math.round(kwh(s.baselineKw) * 1000),
        meteredWh: Math.round(kwh(s.meteredKw) * 1000),
        deliveredWh,
        shortfallWh: Math.round(d.shortfallKwh * 1000),
        performanceRatio: ratio(deliveredWh, requestedWh),
      };
    });
    // The operator sees the portfolio: per interval, one site's surplus covers another's gap.
    const requestedKw = act.sites.reduce((a, s) => a + s.requestedKw, 0);
    const portfolioKw = Array.from({ length: n }, (_, i) =>
      deliveries.reduce((a, d) => a + (d.deliveredKw[i] ?? 0), 0),
    );
    const portfolioShortfallWh = Math.round(kwh(portfolioKw.map((d) => Math.max(0, requestedKw - d))) * 1000);
    const total = (key: 'requestedWh' | 'baselineWh' | 'meteredWh' | 'deliveredWh') =>
      siteRows.reduce((a, r) => a + r[key], 0);
    rows.push(...siteRows, {
      activationId: act.activationId,
      productId: act.productId,
      siteId: PORTFOLIO,
      start,
      end,
      requestedKw,
      requestedWh: total('requestedWh'),
      baselineWh: total('baselineWh'),
      meteredWh: total('meteredWh'),
      deliveredWh: total('deliveredWh'),
      shortfallWh: portfolioShortfallWh,
      performanceRatio: ratio(total('deliveredWh'), total('requestedWh')),
    });
  }
  return rows;
}

const COLUMNS: (keyof SettlementRow)[] = [
  'activationId',
  'productId',
  'siteId',
  'start',
  'end',
  'requestedKw',
  'requestedWh',
  'baselineWh',
  'meteredWh',
  'deliveredWh',
  'shortfallWh',
  'performanceRatio',
];

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with a header line, CRLF line ends. */
export function settlementCsv(rows: SettlementRow[]): string {
  const lines = [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export function settlementJson(rows: SettlementRow[]): string {
  return `${JSON.stringify({ columns: COLUMNS, rows }, null, 2)}\n`;
}
