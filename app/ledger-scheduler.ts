import {
  BillBook,
  type CommunityConfig,
  communityReadingsFromStore,
  compileCommunity,
  issueBills,
  lastCompleteMonth,
  monthPeriod,
} from '../ledger/index.js';
import { GridflexError } from '../model/index.js';
import type { Store } from '../store/index.js';

/** How far back a fresh installation looks for unbilled months. */
const LOOKBACK_MONTHS = 12;
/**
 * A month counts as closed this long after it ended: the last quarter hour's readings are
 * batched and spooled before they reach the store, and a bill is not corrected automatically.
 */
export const CLOSE_GRACE_MS = 15 * 60_000;

/** What one pass did for one community and month. */
export interface BillingOutcome {
  community: string;
  period: string;
  status: 'issued' | 'skipped';
  bills?: number;
  /** Why a month with readings was not billed (a gap too long to estimate, a meter never read). */
  reason?: string;
}

const monthBefore = (label: string) => {
  const [y, m] = label.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
};

/**
 * One pass of the ledger scheduler: for every community, every closed month of the last year
 * that has stored readings and no bills yet is billed from the store (ledger/store-readings.ts
 * through `issueBills`, which is itself idempotent). A month already billed is never billed
 * again; a month without any stored reading is left alone (before the gateway ran); a month
 * that cannot be billed (a long gap) is reported and tried again next pass.
 */
export async function billClosedMonths(
  store: Store,
  communities: readonly CommunityConfig[],
  nowMs: number,
): Promise<BillingOutcome[]> {
  const out: BillingOutcome[] = [];
  if (communities.length === 0) return out;
  const book = await BillBook.open(store);
  for (const config of communities) {
    const community = compileCommunity(config);
    const billed = new Set((await book.bills({ community: config.id })).map((b) => b.period));
    const points = Object.values(config.points ?? {});
    let label = lastCompleteMonth(nowMs - CLOSE_GRACE_MS, community.tz);
    const months: string[] = [];
    for (let i = 0; i < LOOKBACK_MONTHS; i++, label = monthBefore(label)) months.unshift(label);
    for (const month of months) {
      if (billed.has(month)) continue;
      const period = monthPeriod(month, community.tz);
      let stored = 0;
      for (const p of points)
        stored += await store.readings.count(p, period.startMs, period.endMs).catch(() => 0);
      if (stored === 0) continue;
      try {
        const batch = await communityReadingsFromStore(store, config, period.startMs, period.endMs);
        const r = await issueBills(book.ledger, community, period, batch);
        out.push({ community: config.id, period: month, status: 'issued', bills: r.bills.length });
      } catch (err) {
        if (!(err instanceof GridflexError)) throw err;
        out.push({ community: config.id, period: month, status: 'skipped', reason: err.message });
      }
    }
  }
  return out;
}

/**
 * Bill closed months at start and then every `everyMs`. Passes never overlap; a failing pass
 * is reported and the next one tries again.
 */
export function startLedgerScheduler(o: {
  store: Store;
  communities: readonly CommunityConfig[];
  everyMs: number;
  now?: () => number;
  say?: (line: string) => void;
}): { pass(): Promise<BillingOutcome[]>; stop(): Promise<void> } {
  const now = o.now ?? Date.now;
  const say = o.say ?? (() => {});
  const reported = new Set<string>();
  let running: Promise<BillingOutcome[]> = Promise.resolve([]);
  const pass = () => {
    running = running
      .catch(() => [])
      .then(() => billClosedMonths(o.store, o.communities, now()))
      .then((outcomes) => {
        for (const r of outcomes) {
          if (r.status === 'issued')
            say(`ledger: ${r.bills} bills for ${r.period} (${r.community}, from the stored readings)`);
          else if (!reported.has(`${r.community}/${r.period}/${r.reason}`)) {
            reported.add(`${r.community}/${r.period}/${r.reason}`);
            say(`ledger: ${r.community} ${r.period} not billed yet: ${r.reason}`);
          }
        }
        return outcomes;
      });
    running.catch((err: unknown) => say(`ledger: billing pass failed: ${(err as Error).message}`));
    return running;
  };
  const timer =
    o.communities.length > 0 ? setInterval(() => void pass().catch(() => {}), o.everyMs) : undefined;
  timer?.unref?.();
  return {
    pass,
    stop: async () => {
      if (timer) clearInterval(timer);
      await running.catch(() => {});
    },
  };
}
