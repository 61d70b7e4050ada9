import { XMLParser } from 'fast-xml-parser';
import { GridflexError, ValidationError } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import type { SpotPrice } from './spot.js';

/**
 * ENTSO-E Transparency Platform day-ahead prices (`Publication_MarketDocument`, documentType
 * A44; reference: /work/shared/reference/tariffs-weather.md §1). Pure: XML text in, prices out.
 *
 * - The root is matched by local name: the namespace version changes (7:0, 7:3).
 * - Slot time = Period start + (position − 1) × resolution; the slot count comes from the
 *   Period's interval (92 or 100 quarter-hours on a clock-change day), never assumed 96.
 * - curveType A03 leaves out a position equal to the previous one: forward-filled. A01 must
 *   have every position.
 * - Several TimeSeries and Periods are merged by time; where two cover the same interval the
 *   finer resolution wins, then the lowest classification sequence (1 = SDAC before 2 = EXAA,
 *   as evcc does).
 * - An `Acknowledgement_MarketDocument` (no data, bad request; sent with HTTP 200 too) is a
 *   GridflexError GFX_OPT_PRICE_SOURCE carrying `Reason/text`.
 * - A malformed document is a ValidationError GFX_OPT_TARIFF naming the element, e.g.
 *   `TimeSeries[0].Period[0].Point[3].price.amount: expected a number, got "n/a"`.
 */

const RESOLUTIONS: Record<string, number> = { PT15M: 15, PT30M: 30, PT60M: 60, P1D: 1440 };

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'TimeSeries' || name === 'Period' || name === 'Point' || name === 'Reason',
});

type Node = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new ValidationError(
    'ENTSO-E price document is invalid',
    [{ path, message, code: 'custom' }],
    OPT_ERRORS.tariff,
  );
}

function text(node: Node, key: string, path: string): string {
  const v = node[key];
  if (typeof v !== 'string' || v.trim() === '') fail(`${path}${key}`, 'missing');
  return v.trim();
}

function optionalText(node: Node, key: string): string | undefined {
  const v = node[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function instant(node: Node, key: string, path: string): number {
  const s = text(node, key, path);
  // ENTSO-E writes UTC without seconds (2026-03-28T23:00Z); anything without a zone is refused,
  // since JavaScript would read it as process-local time.
  const ms = /Z$|[+-]\d\d:\d\d$/.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isFinite(ms))
    fail(`${path}${key}`, `expected a UTC time such as 2026-03-28T23:00Z, got "${s}"`);
  return ms;
}

function number(node: Node, key: string, path: string): number {
  const s = text(node, key, path);
  const v = Number(s);
  if (!Number.isFinite(v)) fail(`${path}${key}`, `expected a number, got "${s}"`);
  return v;
}

/** Prices of an A44 document, sorted by time, one per interval. */
export function parseEntsoeA44(xml: string): SpotPrice[] {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    fail('(document)', `not well-formed XML: ${(e as Error).message}`);
  }
  const ack = doc.Acknowledgement_MarketDocument as Node | undefined;
  if (ack) {
    const reason = (ack.Reason as Node[] | undefined)?.[0];
    const why = reason
      ? `${optionalText(reason, 'code') ?? '?'} ${optionalText(reason, 'text') ?? ''}`.trim()
      : '';
    throw new GridflexError(
      OPT_ERRORS.priceSource,
      `ENTSO-E sent no prices: ${why || 'acknowledgement without a reason'}`,
      {
        kind: 'unavailable',
        details: { reason: why },
      },
    );
  }
  const root = doc.Publication_MarketDocument as Node | undefined;
  if (!root || typeof root !== 'object')
    fail(
      '(root)',
      `expected Publication_MarketDocument, got ${
        Object.keys(doc)
          .filter((k) => k !== '?xml')
          .join(', ') || 'nothing'
      }`,
    );
  const type = optionalText(root, 'type');
  if (type !== undefined && type !== 'A44') fail('type', `expected A44 (price document), got "${type}"`);
  const series = (root.TimeSeries as Node[] | undefined) ?? [];
  if (series.length === 0) fail('TimeSeries', 'missing: the document holds no prices');

  const candidates: (SpotPrice & { resolution: number })[] = [];
  series.forEach((ts, i) => {
    const at = `TimeSeries[${i}].`;
    const currency = text(ts, 'currency_Unit.name', at);
    const unit = text(ts, 'price_Measure_Unit.name', at);
    if (unit !== 'MWH') fail(`${at}price_Measure_Unit.name`, `expected MWH, got "${unit}"`);
    const curve = optionalText(ts, 'curveType') ?? 'A01';
    if (curve !== 'A01' && curve !== 'A03') fail(`${at}curveType`, `expected A01 or A03, got "${curve}"`);
    const zone = optionalText(ts, 'in_Domain.mRID');
    const seqText = optionalText(ts, 'classificationSequence_AttributeInstanceComponent.position');
    const sequence = seqText === undefined ? undefined : Number(seqText);
    if (sequence !== undefined && !Number.isInteger(sequence))
      fail(
        `${at}classificationSequence_AttributeInstanceComponent.position`,
        `expected an integer, got "${seqText}"`,
      );
    const periods = (ts.Period as Node[] | undefined) ?? [];
    if (periods.length === 0) fail(`${at}Period`, 'missing');
    periods.forEach((period, j) => {
      const pat = `${at}Period[${j}].`;
      const interval = period.timeInterval as Node | undefined;
      if (!interval || typeof interval !== 'object') fail(`${pat}timeInterval`, 'missing');
      const start = instant(interval, 'start', `${pat}timeInterval.`);
      const end = instant(interval, 'end', `${pat}timeInterval.`);
      const resText = text(period, 'resolution', pat);
      const minutes = RESOLUTIONS[resText];
      if (minutes === undefined)
        fail(`${pat}resolution`, `expected PT15M, PT30M, PT60M or P1D, got "${resText}"`);
      const stepMs = minutes * 60_000;
      const count = (end - start) / stepMs;
      if (!(count > 0) || !Number.isInteger(count))
        fail(`${pat}timeInterval`, `end must be a whole number of ${resText} after start`);
      const byPosition = new Map<number, number>();
      ((period.Point as Node[] | undefined) ?? []).forEach((point, k) => {
        const ptAt = `${pat}Point[${k}].`;
        const pos = number(point, 'position', ptAt);
        if (!Number.isInteger(pos) || pos < 1 || pos > count)
          fail(
            `${ptAt}position`,
            `expected 1 … ${count} (the interval holds ${count} × ${resText}), got ${pos}`,
          );
        if (byPosition.has(pos)) fail(`${ptAt}position`, `position ${pos} appears twice`);
        byPosition.set(pos, number(point, 'price.amount', ptAt));
      });
      if (!byPosition.has(1)) fail(`${pat}Point`, 'position 1 is missing');
      let last = Number.NaN;
      for (let pos = 1; pos <= count; pos++) {
        const v = byPosition.get(pos);
        if (v === undefined && curve === 'A01')
          fail(`${pat}Point`, `position ${pos} is missing (curveType A01 lists every position)`);
        last = v ?? last;
        const s = start + (pos - 1) * stepMs;
        candidates.push({
          startMs: s,
          endMs: s + stepMs,
          perKwh: last / 1000,
          currency,
          resolution: minutes,
          ...(zone === undefined ? {} : { zone }),
          ...(sequence === undefined ? {} : { sequence }),
        });
      }
    });
  });
  return mergeByTime(candidates);
}

/** Finer resolution first, then lower sequence; an interval overlapping one already kept is dropped. */
function mergeByTime(candidates: (SpotPrice & { resolution: number })[]): SpotPrice[] {
  candidates.sort(
    (a, b) => a.resolution - b.resolution || (a.sequence ?? 0) - (b.sequence ?? 0) || a.startMs - b.startMs,
  );
  const QUARTER = 900_000;
  const taken = new Set<number>();
  const kept: SpotPrice[] = [];
  for (const { resolution: _, ...c } of candidates) {
    let free = true;
    for (let q = Math.floor(c.startMs / QUARTER); q * QUARTER < c.endMs; q++) if (taken.has(q)) free = false;
    if (!free) continue;
    for (let q = Math.floor(c.startMs / QUARTER); q * QUARTER < c.endMs; q++) taken.add(q);
    kept.push(c);
  }
  return kept.sort((a, b) => a.startMs - b.startMs);
}
