import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../config/version.js';
import { BillBook, type CommunityConfig, CommunitySchema, monthPeriod } from '../ledger/index.js';
import type { Reading } from '../model/index.js';
import { AuthRepository } from '../server/index.js';
import { openStore, type Store } from '../store/index.js';
import { controlSocketPath, sendUserRequest, startControlSocket } from './control.js';
import { eraseHouseholdData } from './erasure.js';
import { billClosedMonths } from './ledger-scheduler.js';
import { migrateAll } from './migrate.js';
import { DEFAULT_RETENTION } from './retention.js';
import { billedUntil, startRetentionScheduler } from './retention-scheduler.js';
import { ensureFirstAdmin } from './users.js';

const QUARTER = 15 * 60_000;
const MONTH = monthPeriod('2026-10', 'Europe/Zurich');
// Pinned: a day into November, so October is closed and November is not.
const NOW = MONTH.endMs + 86_400_000;

async function community(): Promise<CommunityConfig> {
  const shipped = parse(await readFile(`${packageRoot()}/deploy/examples/zev-bern-community.yaml`, 'utf8'));
  const flats = ['apt-1', 'apt-2'];
  const meters = ['house-grid-meter', 'house-pv', ...flats.map((f) => `house-${f}`)];
  return CommunitySchema.parse({
    ...shipped,
    units: shipped.units
      .filter((u: { id: string }) => flats.includes(u.id))
      .map((u: object) => ({ ...u, sharePercent: '50' })),
    members: shipped.members.filter((m: { unit: string }) => flats.includes(m.unit)),
    points: Object.fromEntries(Object.entries(shipped.points).filter(([m]) => meters.includes(m))),
  });
}

describe('ledger scheduler', () => {
  let store: Store;
  let config: CommunityConfig;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-sched-'));
    process.env.GRIDFLEX_DATA = dir; // the ledger's keys, away from the checkout
    store = await openStore({ dataDir: 'memory://' });
    await migrateAll(store);
    config = await community();
    const points = config.points!;
    await store.readings.describePoints(
      Object.entries(points).map(([m, key]) => ({
        key,
        kind: m === 'house-pv' ? 'energy_export' : 'energy_import',
        unit: 'Wh',
      })),
    );
    const counters = new Map(Object.values(points).map((p) => [p, 500_000]));
    const batch: Reading[] = [];
    for (let t = MONTH.startMs - 86_400_000; t <= MONTH.endMs + QUARTER; t += QUARTER)
      for (const [meter, point] of Object.entries(points)) {
        counters.set(point, counters.get(point)! + (meter === 'house-pv' ? 20 : 90));
        batch.push({ pointId: point, ts: t, value: counters.get(point)!, quality: 'good' });
      }
    for (let i = 0; i < batch.length; i += 5000) await store.readings.ingest(batch.slice(i, i + 5000));
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('bills a month from the stored readings once it has closed, and only once', async () => {
    // At 23:59 on its last day October has its readings but has not closed: not billed.
    const early = await billClosedMonths(store, [config], MONTH.endMs - 60_000);
    expect(early.map((x) => x.period)).not.toContain('2026-10');
    const first = await billClosedMonths(store, [config], NOW);
    expect(first).toContainEqual({ community: 'zev-bern', period: '2026-10', status: 'issued', bills: 2 });
    // September has only its last day stored (the day before October): reported, not billed.
    expect(first).toContainEqual(
      expect.objectContaining({
        period: '2026-09',
        status: 'skipped',
        reason: expect.stringContaining('no reading'),
      }),
    );
    // The next pass (a restart, the hourly timer) finds October billed and does not bill it again.
    const again = await billClosedMonths(store, [config], NOW + 3_600_000);
    expect(again.filter((r) => r.status === 'issued')).toEqual([]);
    const bills = await (await BillBook.open(store)).bills({ community: 'zev-bern' });
    expect(bills.map((b) => b.period)).toEqual(['2026-10', '2026-10']);
  });

  it("erases a flat's billed interval data on the resident's request, keeping what is not billed yet", async () => {
    const flat = config.points!['house-apt-2']!;
    const grid = config.points!['house-grid-meter']!;
    const gridBefore = await store.readings.count(grid, MONTH.startMs, MONTH.endMs);
    const after = await store.readings.count(flat, MONTH.endMs, MONTH.endMs + 86_400_000);
    expect(after).toBeGreaterThan(0);
    const report = await eraseHouseholdData(store, [config], 'apt-2', {
      billedUntilMs: await billedUntil(store, [config]),
    });
    expect(report.profiles).toBe(1); // October's profile beside the ledger
    expect(report.readings).toBeGreaterThan(2900);
    expect(await store.readings.count(flat, MONTH.startMs, MONTH.endMs)).toBe(0);
    // Not billed yet (November): kept until billed, then retention takes it.
    expect(await store.readings.count(flat, MONTH.endMs, MONTH.endMs + 86_400_000)).toBe(after);
    // Another flat's and the building's data are untouched; so are the bills (monthly totals).
    expect(await store.readings.count(grid, MONTH.startMs, MONTH.endMs)).toBe(gridBefore);
    const bills = await (await BillBook.open(store)).bills({ unit: 'apt-2' });
    expect(bills.map((b) => b.period)).toEqual(['2026-10']);
  });

  it("deletes a flat's interval data only once billed and past its period, never the building's", async () => {
    const flat = config.points!['house-apt-1']!;
    const grid = config.points!['house-grid-meter']!;
    const count = (key: string) => store.readings.count(key, MONTH.startMs, MONTH.endMs);
    const before = { flat: await count(flat), grid: await count(grid) };
    expect(before.flat).toBeGreaterThan(2900);
    // October is billed (the test above): billed until its end, September's stray day before it too.
    expect(await billedUntil(store, [config])).toBe(MONTH.endMs);
    // 30 days after October, within the 90 days to object to a bill: nothing goes.
    const soon = startRetentionScheduler({
      store,
      retention: DEFAULT_RETENTION,
      communities: [config],
      now: () => NOW + 30 * 86_400_000,
    });
    await soon.pass();
    await soon.stop();
    expect(await count(flat)).toBe(before.flat);
    // Half a year later the flat's 15-minute profile is gone; the building's grid meter stays (400 d).
    const later = startRetentionScheduler({
      store,
      retention: DEFAULT_RETENTION,
      communities: [config],
      now: () => NOW + 183 * 86_400_000,
    });
    const report = await later.pass();
    await later.stop();
    expect(report.householdReadings).toBeGreaterThan(0);
    // October's profile of apt-1 (apt-2's was erased on request above) goes with it.
    expect(report.householdProfiles).toBe(1);
    expect(await count(flat)).toBe(0);
    expect(await count(grid)).toBe(before.grid);
  });

  it('manages users over the control socket while the store is held, and never resets the first admin', async () => {
    expect(await ensureFirstAdmin(store, { password: 'first-password-1' })).toBe('created');
    expect(await ensureFirstAdmin(store, { password: 'another-password' })).toBe('exists');
    expect(await new AuthRepository(store.db).checkPassword('admin', 'first-password-1')).not.toBeNull();
    const control = await startControlSocket(store, dir);
    try {
      await sendUserRequest(dir, {
        op: 'add',
        actor: 't',
        username: 'ops',
        role: 'operator',
        grants: ['portfolio:x'],
      });
      const token = await sendUserRequest(dir, {
        op: 'token',
        actor: 't',
        username: 'ops',
        name: 'n',
        write: false,
      });
      expect(token).toMatchObject({ op: 'token', token: expect.stringMatching(/^gfx_/) });
      await expect(
        sendUserRequest(dir, { op: 'token', actor: 't', username: 'nobody', name: 'n', write: false }),
      ).rejects.toThrow(/no user "nobody"/);
      const list = await sendUserRequest(dir, { op: 'list' });
      expect(list.op === 'list' && list.users.map((u) => u.username).sort()).toEqual(['admin', 'ops']);
    } finally {
      await control.close();
    }
    await expect(sendUserRequest(dir, { op: 'list' })).rejects.toThrow(controlSocketPath(dir));
  });
});
