import { z } from 'zod';
import { GridflexError, IdSchema } from '../model/index.js';
import type { Availability } from './availability.js';
import { MARKET_ERRORS } from './errors.js';
import { DirectionSchema, type Product } from './product.js';
import { proportional, toKw, toW } from './shares.js';

/**
 * Capacity price in integer cents per MW per hour (markets quote €/MW,h). Integer so that a
 * bid, its acceptance and its settlement agree to the cent.
 */
const priceCents = z.number().int().nonnegative();

export const PriceStrategySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), priceCentsPerMwh: priceCents }),
  /** Cost of holding the reserve plus a margin, rounded up to the cent (never sell below cost). */
  z.object({ kind: z.literal('cost_plus'), costCentsPerMwh: priceCents, marginPct: z.number().min(0) }),
]);
export type PriceStrategy = z.infer<typeof PriceStrategySchema>;

const SiteShareSchema = z.object({ siteId: IdSchema, kw: z.number().nonnegative() });

export const BidSchema = z.object({
  /** Deterministic: `<product>:<period start ISO>:<n>`; resubmitting the same bids is idempotent. */
  id: z.string().min(1),
  productId: IdSchema,
  direction: DirectionSchema,
  startMs: z.number().int(),
  endMs: z.number().int(),
  kw: z.number().positive(),
  priceCentsPerMwh: priceCents,
  /** Who holds the capacity; sums to `kw`. */
  sites: z.array(SiteShareSchema),
});
export type Bid = z.infer<typeof BidSchema>;

/** An accepted bid: capacity the optimiser must keep free at these sites for this period. */
export const ObligationSchema = BidSchema.extend({
  /** How long an activation must be sustainable (full activation + minimum duration). */
  sustainMs: z.number().int().positive(),
});
export type Obligation = z.infer<typeof ObligationSchema>;

export const AcceptanceSchema = z.object({
  bidId: z.string().min(1),
  /** Partial acceptance; absent = all of the bid. */
  acceptedKw: z.number().positive().optional(),
  /** Clearing price when it differs from the bid (marginal pricing). */
  priceCentsPerMwh: priceCents.optional(),
});
export type Acceptance = z.infer<typeof AcceptanceSchema>;

export interface SkippedPeriod {
  startMs: number;
  endMs: number;
  reason: 'below_minimum' | 'incomplete_period' | 'started';
  /** What was available (after rounding down to the bid step). */
  kw: number;
}

export function bidPrice(strategy: PriceStrategy): number {
  if (strategy.kind === 'fixed') return strategy.priceCentsPerMwh;
  return Math.ceil((strategy.costCentsPerMwh * (100 + strategy.marginPct)) / 100 - 1e-9);
}

/**
 * Capacity bids for `product` from its availability: per bid period, the least any slot of the
 * period can hold (a bid is held for the whole period), summed over sites, rounded **down** to
 * the bid step, split evenly into bids no larger than `maxBidKw`, none below `minBidKw`.
 * Symmetric products count what each site holds both ways (min of up and down).
 */
export function buildBids(
  availability: Availability,
  product: Product,
  strategy: PriceStrategy,
): { bids: Bid[]; skipped: SkippedPeriod[] } {
  if (availability.productId !== product.id)
    throw new GridflexError(
      MARKET_ERRORS.PRODUCT_MISMATCH,
      `availability was computed for ${availability.productId}, not ${product.id}`,
      { kind: 'input' },
    );
  const price = bidPrice(strategy);
  const stepW = toW(product.bidStepKw);
  const minW = toW(product.minBidKw);
  const maxW = product.maxBidKw === undefined ? Number.POSITIVE_INFINITY : toW(product.maxBidKw);
  const periods = new Map<number, Availability['slots']>();
  for (const slot of availability.slots) {
    // A slot longer than the bid period (hourly plan, 15-min mFRR) feeds every period it covers.
    for (
      let start = Math.floor(slot.startMs / product.bidPeriod) * product.bidPeriod;
      start < slot.endMs;
      start += product.bidPeriod
    )
      periods.set(start, [...(periods.get(start) ?? []), slot]);
  }
  const bids: Bid[] = [];
  const skipped: SkippedPeriod[] = [];
  for (const [startMs, slots] of [...periods].sort((a, b) => a[0] - b[0])) {
    const endMs = startMs + product.bidPeriod;
    const covered = slots.reduce(
      (ms, s) => ms + (Math.min(s.endMs, endMs) - Math.max(s.startMs, startMs)),
      0,
    );
    if (covered < product.bidPeriod) {
      skipped.push({ startMs, endMs, reason: 'incomplete_period', kw: 0 });
      continue;
    }
    const siteW = new Map<string, number>();
    for (const slot of slots)
      for (const site of slot.sites) {
        const kw =
          product.direction === 'up'
            ? site.upKw
            : product.direction === 'down'
              ? site.downKw
              : site.symmetricKw;
        siteW.set(site.siteId, Math.min(siteW.get(site.siteId) ?? Number.POSITIVE_INFINITY, toW(kw)));
      }
    const availableW = [...siteW.values()].reduce((a, b) => a + b, 0);
    const totalW = Math.floor(availableW / stepW) * stepW;
    const chunks = splitEvenly(totalW, stepW, maxW).filter((w) => w >= minW);
    if (chunks.length === 0) {
      skipped.push({ startMs, endMs, reason: 'below_minimum', kw: toKw(totalW) });
      continue;
    }
    const offeredW = chunks.reduce((a, b) => a + b, 0);
    const shares = cutShares(proportional(offeredW, siteW), chunks);
    bids.push(
      ...chunks.map((w, n) => ({
        id: `${product.id}:${new Date(startMs).toISOString()}:${n}`,
        productId: product.id,
        direction: product.direction,
        startMs,
        endMs,
        kw: toKw(w),
        priceCentsPerMwh: price,
        sites: shares[n]!.map(([siteId, sw]) => ({ siteId, kw: toKw(sw) })),
      })),
    );
  }
  return { bids, skipped };
}

/** `totalW` in as few bids of at most `maxW` as possible, equal to within one step. */
function splitEvenly(totalW: number, stepW: number, maxW: number): number[] {
  if (totalW === 0) return [];
  const n = Math.max(1, Math.ceil(totalW / maxW));
  const steps = totalW / stepW;
  const base = Math.floor(steps / n);
  return Array.from({ length: n }, (_, k) => (base + (k < steps - base * n ? 1 : 0)) * stepW);
}

/** Cut a list of site shares into consecutive pieces of the given sizes. */
function cutShares(shares: [string, number][], sizes: number[]): [string, number][][] {
  const queue = shares.map(([id, w]) => [id, w] as [string, number]);
  return sizes.map((size) => {
    const piece: [string, number][] = [];
    let need = size;
    while (need > 0) {
      const head = queue[0]!;
      const take = Math.min(need, head[1]);
      piece.push([head[0], take]);
      head[1] -= take;
      need -= take;
      if (head[1] === 0) queue.shift();
    }
    return piece;
  });
}

/**
 * Turn the operator's acceptances into obligations. A partial acceptance must be a multiple of
 * the bid step and is shared over the bid's sites in proportion. Unknown or repeated bids, or
 * acceptances above the bid, are refused whole: nothing is half-applied.
 */
export function acceptBids(bids: Bid[], acceptances: Acceptance[], product: Product): Obligation[] {
  const byId = new Map(bids.map((b) => [b.id, b]));
  const seen = new Set<string>();
  const sustainMs = product.fullActivation + product.minDuration;
  const problems: string[] = [];
  const obligations: Obligation[] = [];
  for (const a of acceptances) {
    const bid = byId.get(a.bidId);
    if (!bid || bid.productId !== product.id) problems.push(`${a.bidId}: no such ${product.id} bid`);
    else if (seen.has(a.bidId)) problems.push(`${a.bidId}: accepted twice`);
    else {
      seen.add(a.bidId);
      const acceptedW = toW(a.acceptedKw ?? bid.kw);
      const bidW = toW(bid.kw);
      if (acceptedW > bidW)
        problems.push(`${a.bidId}: accepted ${a.acceptedKw} kW is more than the ${bid.kw} kW bid`);
      else if (acceptedW % toW(product.bidStepKw) !== 0)
        problems.push(`${a.bidId}: accepted ${a.acceptedKw} kW is not a multiple of ${product.bidStepKw} kW`);
      else {
        const sites = proportional(acceptedW, new Map(bid.sites.map((s) => [s.siteId, toW(s.kw)])));
        obligations.push({
          ...bid,
          kw: toKw(acceptedW),
          priceCentsPerMwh: a.priceCentsPerMwh ?? bid.priceCentsPerMwh,
          sites: sites.map(([siteId, w]) => ({ siteId, kw: toKw(w) })),
          sustainMs,
        });
      }
    }
  }
  if (problems.length > 0)
    throw new GridflexError(MARKET_ERRORS.ACCEPTANCE, `acceptance refused: ${problems[0]}`, {
      kind: 'input',
      details: { problems },
    });
  return obligations;
}
