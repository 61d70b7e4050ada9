import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { loadConfigFile } from '../config/load.js';
import { GridflexError } from '../model/index.js';
import type { Store } from '../store/index.js';
import { BillBook } from './book.js';
import { CommunitySchema, compileCommunity } from './community.js';
import { issueBills } from './issue.js';
import type { Keyring } from './keys.js';
import { completeMonths, lastCompleteMonth } from './months.js';
import { parseReadingsCsv } from './readings.js';
import { communityReadingsFromStore } from './store-readings.js';
import { monthPeriod } from './time.js';

/** What `ensureCommunityBills` found or did, one line per billed month. */
export interface DemoBills {
  community: string;
  status: 'existing' | 'issued' | 'none';
  periods: { label: string; bills: number; source: 'ledger' | 'store' | 'bundled' }[];
}

/**
 * Bills for a demo (or a fresh installation): when the ledger holds no bill of the community,
 * issue the last complete month from the store's gateway history if it covers that month, else
 * every complete month of a bundled readings file (CSV, gzip when the name ends in .gz) that
 * ended before `nowMs`. Nothing is issued when bills exist, so a restart changes nothing.
 */
export async function ensureCommunityBills(
  store: Store,
  options: { communityFile: string; readingsFile: string; nowMs: number; keys?: Keyring },
): Promise<DemoBills> {
  const config = await loadConfigFile(CommunitySchema, options.communityFile);
  const book = await BillBook.open(store, { keys: options.keys });
  const existing = await book.bills({ community: config.id });
  if (existing.length > 0) {
    const byPeriod = new Map<string, number>();
    for (const b of existing) byPeriod.set(b.period, (byPeriod.get(b.period) ?? 0) + 1);
    return {
      community: config.id,
      status: 'existing',
      periods: [...byPeriod].map(([label, bills]) => ({ label, bills, source: 'ledger' as const })),
    };
  }
  const community = compileCommunity(config);
  const ledger = book.ledger;
  const latest = lastCompleteMonth(options.nowMs, community.tz);
  if (config.points) {
    const period = monthPeriod(latest, community.tz);
    try {
      const batch = await communityReadingsFromStore(store, config, period.startMs, period.endMs);
      const r = await issueBills(ledger, community, period, batch);
      return {
        community: config.id,
        status: 'issued',
        periods: [{ label: latest, bills: r.bills.length, source: 'store' }],
      };
    } catch (err) {
      // No whole month of gateway history (the usual case for a demo): the bundled file.
      const noHistory = ['GFX_LEDGER_DATA_GAP', 'GFX_STORE_UNKNOWN_POINT'];
      if (!(err instanceof GridflexError) || !noHistory.includes(err.code)) throw err;
    }
  }
  const raw = await readFile(options.readingsFile);
  const text = (options.readingsFile.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const batch = parseReadingsCsv(text);
  const periods: DemoBills['periods'] = [];
  for (const label of completeMonths(batch, community.tz)) {
    const period = monthPeriod(label, community.tz);
    if (period.endMs > options.nowMs) continue;
    const r = await issueBills(ledger, community, period, batch);
    periods.push({ label, bills: r.bills.length, source: 'bundled' });
  }
  return { community: config.id, status: periods.length > 0 ? 'issued' : 'none', periods };
}
