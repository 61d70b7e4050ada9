import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoUsers } from '../app/demo-users.js';
import { loadConfigFile } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import { SitesConfigSchema } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { BillBook } from './book.js';
import { ensureCommunityBills } from './demo.js';
import { ephemeralKeyring } from './keys.js';
import { lastCompleteMonth } from './months.js';

const files = {
  communityFile: `${packageRoot()}/deploy/examples/zev-bern-community.yaml`,
  readingsFile: `${packageRoot()}/deploy/examples/zev-bern-readings.csv.gz`,
};
const NOW = Date.UTC(2026, 10, 23, 13, 0);
const keys = ephemeralKeyring();
let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
});
afterAll(async () => {
  await store?.close();
});

describe('demo bills of the simulated zev-bern building', () => {
  it('takes the month before the current local month, across a year end', () => {
    expect(lastCompleteMonth(NOW, 'Europe/Zurich')).toBe('2026-10');
    // 1 January 00:30 in Zurich is still 31 December in UTC.
    expect(lastCompleteMonth(Date.UTC(2026, 11, 31, 23, 30), 'Europe/Zurich')).toBe('2026-12');
    expect(lastCompleteMonth(Date.UTC(2027, 0, 15), 'Europe/Zurich')).toBe('2026-12');
  });

  it('bills the bundled complete months once, for apt-1…apt-12, and leaves them on a restart', async () => {
    // The store holds no gateway history, so the bundled readings are used.
    const first = await ensureCommunityBills(store, { ...files, nowMs: NOW, keys });
    expect(first).toEqual({
      community: 'zev-bern',
      status: 'issued',
      periods: [
        { label: '2026-09', bills: 12, source: 'bundled' },
        { label: '2026-10', bills: 12, source: 'bundled' },
      ],
    });
    const book = await BillBook.open(store, { keys });
    const bills = await book.bills({ unit: 'apt-1' });
    expect(bills.map((b) => b.period)).toEqual(['2026-10', '2026-09']);
    const oct = bills[0]!;
    expect(oct.community).toBe('zev-bern');
    expect(oct.energy.solarMwh).toBeGreaterThan(0);
    expect(oct.energy.solarMwh).toBeLessThan(oct.energy.consumptionMwh);
    expect(oct.savingMinor).toBeGreaterThan(0);
    // Each month is sealed: the bill verifies against the community's key.
    expect(await book.verifyBill(oct.id)).toMatchObject({ ok: true, keyId: (await keys.signer()).keyId });
    const [summary] = await book.summaries('zev-bern');
    expect(summary!.summary.productionMwh).toBeGreaterThan(0);

    // The demo users `gridflex demo` prints reach these bills: the resident its flat's, the
    // board the community's.
    const { sites } = await loadConfigFile(SitesConfigSchema, `${packageRoot()}/deploy/examples/sites.yaml`);
    const users = await ensureDemoUsers(store, sites);
    const grant = (role: string) => users.find((u) => u.role === role)!.grants[0]!;
    expect(grant('resident')).toEqual({ kind: 'unit', ref: 'apt-1' });
    expect(grant('board')).toEqual({ kind: 'community', ref: 'zev-bern' });

    const again = await ensureCommunityBills(store, { ...files, nowMs: NOW, keys });
    expect(again.status).toBe('existing');
    expect((await book.bills({ community: 'zev-bern' })).length).toBe(24);
  }, 120_000);

  it('issues nothing for months that had not ended yet', async () => {
    const early = await openStore({ dataDir: 'memory://' });
    try {
      const r = await ensureCommunityBills(early, { ...files, nowMs: Date.UTC(2026, 9, 15), keys });
      expect(r.periods.map((p) => p.label)).toEqual(['2026-09']);
    } finally {
      await early.close();
    }
  }, 120_000);
});
