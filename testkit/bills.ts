import { loadConfigFile } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import { ensureCommunityBills } from '../ledger/demo.js';
import {
  type CommunityConfig,
  CommunitySchema,
  compileCommunity,
  issueBills,
  Ledger,
  parseReadingsCsv,
} from '../ledger/index.js';
import { exampleCommunity, exampleCsv } from '../ledger/testing.js';
import { openStore, type Store } from '../store/index.js';
import { addUsers, ZEV_BERN_USERS } from './users.js';

/**
 * The ledger's § 7.6 example community renamed `id`, with units `flats` (three) and members
 * `<id>-t0…`, billed for the hour from `startMs` (period "2026-11"). The caller sets
 * GRIDFLEX_LEDGER_KEYS to a key folder of its own first.
 */
export async function issueExampleBills(
  store: Store,
  id: string,
  flats: string[],
  startMs: number,
): Promise<CommunityConfig> {
  const base = exampleCommunity();
  const config = exampleCommunity({
    id,
    units: base.units.map((u, i) => ({ ...u, id: flats[i]! })),
    members: base.members.map((m, i) => ({ ...m, id: `${id}-t${i}`, unit: flats[i]! })),
  });
  const period = { label: '2026-11', startMs, endMs: startMs + 4 * 900_000 };
  await issueBills(
    await Ledger.open(store),
    compileCommunity(config),
    period,
    parseReadingsCsv(exampleCsv(startMs)),
  );
  return config;
}

/**
 * The demo's zev-bern community (deploy/examples, 12 flats) with its September and October 2026
 * bills issued from the bundled readings, as `gridflex demo` issues them. The caller sets
 * GRIDFLEX_LEDGER_KEYS to a key folder of its own first.
 */
export async function issueZevBernBills(store: Store): Promise<CommunityConfig> {
  const root = `${packageRoot()}/deploy/examples`;
  await ensureCommunityBills(store, {
    communityFile: `${root}/zev-bern-community.yaml`,
    readingsFile: `${root}/zev-bern-readings.csv.gz`,
    nowMs: Date.UTC(2026, 10, 23),
  });
  return loadConfigFile(CommunitySchema, `${root}/zev-bern-community.yaml`);
}

/**
 * A memory store with the zev-bern bills issued (`issueZevBernBills`) and the ZEV_BERN_USERS
 * who read them: what the bill pages' browser tests serve.
 */
export async function zevBernBillsStore(): Promise<{ store: Store; community: CommunityConfig }> {
  const store = await openStore({ dataDir: 'memory://' });
  const community = await issueZevBernBills(store);
  await addUsers(store, ZEV_BERN_USERS);
  return { store, community };
}
