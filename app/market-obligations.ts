import {
  catchError,
  distinctUntilChanged,
  EMPTY,
  from,
  merge,
  type Observable,
  switchMap,
  timer,
} from 'rxjs';
import type { Obligation as SoldCapacity } from '../market/bids.js';
import type { RunningMarket } from '../market/start.js';
import type { SiteCommitment } from '../model/index.js';
import type { Hub } from '../stream/index.js';

/** How far ahead accepted bids are read: the live optimiser plans a day from now. */
const AHEAD_MS = 36 * 3_600_000;

/**
 * A site's share of an accepted bid as the live optimiser's commitment (model `SiteCommitment`): the kW it must keep
 * free, up, down or both (symmetric products such as FCR-N), for the product's sustain time.
 */
export function siteReserve(o: SoldCapacity, siteId: string): SiteCommitment | null {
  const kw = o.sites.filter((s) => s.siteId === siteId).reduce((sum, s) => sum + s.kw, 0);
  if (kw <= 0) return null;
  return {
    id: o.id,
    startMs: o.startMs,
    endMs: o.endMs,
    reserve: {
      upKw: o.direction === 'down' ? 0 : kw,
      downKw: o.direction === 'up' ? 0 : kw,
      sustainMinutes: o.sustainMs / 60_000,
      product: o.productId,
    },
  };
}

/**
 * The accepted bids of every portfolio the site belongs to, as they stand: read at once, every
 * `everyMs` and whenever the market publishes an update. A read that fails is reported and
 * skipped (the optimiser keeps the last list), so a store hiccup never stops the live loop.
 */
export function siteObligations$(
  market: RunningMarket,
  hub: Hub,
  siteId: string,
  o: { now?: () => number; everyMs?: number; say?: (line: string) => void } = {},
): Observable<readonly SiteCommitment[]> {
  const now = o.now ?? Date.now;
  const portfolios = market.portfolios.filter((p) => p.sites.includes(siteId));
  const load = async () => {
    const range = { fromMs: now(), toMs: now() + AHEAD_MS };
    const lists = await Promise.all(portfolios.map((p) => market.service.bids(p.id, range)));
    return lists.flatMap((l) => l.obligations).flatMap((sold) => siteReserve(sold, siteId) ?? []);
  };
  return merge(timer(0, o.everyMs ?? 60_000), hub.topic('market')).pipe(
    switchMap(() =>
      from(load()).pipe(
        catchError((err: unknown) => {
          o.say?.(`market: cannot read the obligations of ${siteId}: ${(err as Error).message}`);
          return EMPTY;
        }),
      ),
    ),
    distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
  );
}
