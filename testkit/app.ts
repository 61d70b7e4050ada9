import type { FastifyInstance } from 'fastify';
import { eraseHouseholdData } from '../app/erasure.js';
import { billedUntil } from '../app/retention-scheduler.js';
import type { CommunityConfig } from '../ledger/index.js';
import type { HouseholdErasure } from '../server/context.js';
import type { Store } from '../store/index.js';
import { launchChromium, type TestBrowser } from './browser.js';

/** The erasure service `gridflex run` hands the server, over these communities' bills. */
export function erasureService(store: Store, communities: readonly CommunityConfig[]): HouseholdErasure {
  return {
    erase: async (unit) =>
      eraseHouseholdData(store, communities, unit, { billedUntilMs: await billedUntil(store, communities) }),
  };
}

/** A built app listening on a free loopback port, and a fresh Chromium (downloads allowed) to browse it. */
export async function serveToChromium(app: FastifyInstance): Promise<{ base: string; browser: TestBrowser }> {
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, browser: await launchChromium({ acceptDownloads: true }) };
}

/** Close what a test opened, in this order, skipping what it never got to open (for `afterAll`). */
export async function closeAll(...open: ({ close(): PromiseLike<unknown> } | undefined)[]): Promise<void> {
  for (const o of open) await o?.close();
}
