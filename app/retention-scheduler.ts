import { BillBook, type CommunityConfig, compileCommunity, localTime, monthPeriod } from '../ledger/index.js';
import { eraseProfilesBefore } from '../ledger/privacy.js';
import type { Store } from '../store/index.js';
import { householdDevices } from './devices-privacy.js';
import { type Retention, type RetentionReport, runRetention } from './retention.js';

/**
 * The end of what is billed for every community (ms), or undefined when a community has no
 * bill yet: household data is deleted only before it. Per community, that is the end of its
 * latest billed month, pulled back to the start of any earlier month that is still unbilled
 * (a month the scheduler could not bill keeps its data until it is billed). The earliest over
 * all communities wins, so no household's unbilled data is ever deleted.
 */
export async function billedUntil(
  store: Store,
  communities: readonly CommunityConfig[],
): Promise<number | undefined> {
  if (communities.length === 0) return undefined;
  const book = await BillBook.open(store);
  let until = Number.POSITIVE_INFINITY;
  for (const config of communities) {
    const tz = compileCommunity(config).tz;
    const periods = [...new Set((await book.bills({ community: config.id })).map((b) => b.period))].sort();
    if (periods.length === 0) return undefined;
    let end = monthPeriod(periods.at(-1)!, tz).endMs;
    // A gap in the billed months (YYYY-MM labels sort in time order) stops at the gap.
    for (let i = 1; i < periods.length; i++) {
      const expected = monthPeriod(periods[i - 1]!, tz).endMs;
      const start = monthPeriod(periods[i]!, tz).startMs;
      if (start > expected) {
        end = expected;
        break;
      }
    }
    until = Math.min(until, end);
  }
  return until;
}

/**
 * Retention for a running controller: at start and then every `everyMs` (default daily), with
 * the household meters of the configured communities kept only until billed + the configured
 * period (app/retention.ts, PRIVACY.md "How long"). A failing run is reported, never fatal.
 */
export function startRetentionScheduler(o: {
  store: Store;
  retention: Retention;
  communities: readonly CommunityConfig[];
  /** Flat meters the configuration declares building devices (`site/device`). */
  buildingDevices?: readonly string[];
  everyMs?: number;
  now?: () => number;
  say?: (line: string) => void;
}): { pass(): Promise<RetentionReport>; stop(): Promise<void> } {
  const now = o.now ?? Date.now;
  const households = householdDevices(o.communities, o.buildingDevices);
  let running: Promise<RetentionReport | null> = Promise.resolve(null);
  const pass = () => {
    const next = running
      .catch(() => null)
      .then(async () => {
        const at = now();
        const until = await billedUntil(o.store, o.communities);
        const report = await runRetention(o.store, o.retention, at, {
          householdDevices: households,
          ...(until === undefined ? {} : { billedUntilMs: until }),
        });
        // The flats' profiles beside the ledger go with the household data: every month that
        // ended before the household cutoff (billed, and past the time to object).
        if (until !== undefined) {
          const cutoff = Math.min(until, at - o.retention.householdAfterBilling);
          for (const c of o.communities) {
            const lt = localTime(cutoff, compileCommunity(c).tz);
            const label = `${lt.year}-${String(lt.month).padStart(2, '0')}`;
            report.householdProfiles += await eraseProfilesBefore(o.store.db, c.id, label);
          }
        }
        return report;
      });
    running = next;
    next.catch((err: unknown) => o.say?.(`retention: run failed: ${(err as Error).message}`));
    return next;
  };
  const timer = setInterval(() => void pass().catch(() => {}), o.everyMs ?? 86_400_000);
  timer.unref?.();
  return {
    pass,
    stop: async () => {
      clearInterval(timer);
      await running.catch(() => {});
    },
  };
}
