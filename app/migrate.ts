import { SetpointWriteRepository } from '../gateway/write-log.js';
import { Ledger } from '../ledger/index.js';
import { migrateMarket } from '../market/repository.js';
import { migrateOptimizer } from '../optimizer/plan-store.js';
import { migrateServer } from '../server/index.js';
import type { Store } from '../store/index.js';

/**
 * Every module's migrations (the store's own run when it opens), in one place and once per
 * start, so no table appears half-way through a running process. Each is idempotent: the
 * modules' own calls later (e.g. `startMarket`) find nothing to do.
 */
export async function migrateAll(store: Store): Promise<void> {
  await migrateServer(store);
  await SetpointWriteRepository.open(store);
  await migrateOptimizer(store);
  await migrateMarket(store);
  await Ledger.open(store);
}
