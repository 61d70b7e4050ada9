import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCommunity, issueBills, Ledger, parseReadingsCsv } from '../../ledger/index.js';
import { exampleCommunity, exampleCsv } from '../../ledger/testing.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { chromium } from '../../testkit/system.js';
import { buildApp } from '../app.js';
import { addRoleUsers, loginCookie, ROLE_USERS } from '../testing.js';

const D0 = Date.UTC(2026, 10, 2);
let store: Store;
let app: FastifyInstance;
const cookies = {} as Record<'admin' | 'resident' | 'board' | 'manager', string>;

/** The § 7.6 example as community "bern" (the test users' community) with units flat-1…3. */
async function issueExample(id: string, flats: string[]): Promise<void> {
  const base = exampleCommunity();
  const config = exampleCommunity({
    id,
    units: base.units.map((u, i) => ({ ...u, id: flats[i]! })),
    members: base.members.map((m, i) => ({ ...m, id: `${id}-t${i}`, unit: flats[i]! })),
  });
  const period = { label: '2026-11', startMs: D0, endMs: D0 + 4 * 900_000 };
  await issueBills(
    await Ledger.open(store),
    compileCommunity(config),
    period,
    parseReadingsCsv(exampleCsv(D0)),
  );
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await issueExample('bern', ['flat-1', 'flat-2', 'flat-3']);
  await issueExample('basel', ['flat-9', 'flat-8', 'flat-7']);
  app = await buildApp({ store, hub: new Hub(), sites: [], version: 'test' });
  await addRoleUsers(store);
  for (const role of ['admin', 'resident', 'board', 'manager'] as const)
    cookies[role] = await loginCookie(app, ROLE_USERS[role].username, ROLE_USERS[role].password);
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

const get = (url: string, role: keyof typeof cookies) =>
  app.inject({ url, headers: { cookie: cookies[role] } });

describe('bills over HTTP', () => {
  it('lists a resident only its own unit’s bills, a board its community’s, an admin all', async () => {
    const ids = async (role: keyof typeof cookies) =>
      ((await get('/api/bills', role)).json().bills as { id: string }[]).map((b) => b.id).sort();
    expect(await ids('resident')).toEqual(['bern-2026-11-bern-t0']);
    expect(await ids('board')).toEqual([
      'bern-2026-11-bern-t0',
      'bern-2026-11-bern-t1',
      'bern-2026-11-bern-t2',
    ]);
    expect(await ids('admin')).toHaveLength(6);
    expect((await get('/api/bills', 'manager')).statusCode).toBe(403);
  });

  it('opens a resident’s own bill with its solar split and checkpoint, and hides a neighbour’s', async () => {
    const own = await get('/api/units/flat-1/bills/bern-2026-11-bern-t0', 'resident');
    expect(own.statusCode).toBe(200);
    const bill = own.json();
    expect(bill.energy.solarMwh).toBe(3_666_667);
    expect(bill.checkpoint.hash).toMatch(/^[0-9a-f]{64}$/);
    const neighbour = await get('/api/units/flat-2/bills/bern-2026-11-bern-t1', 'resident');
    expect(neighbour.statusCode).toBe(404);
    expect(neighbour.body).not.toContain('solarMwh');
    // The own unit in the path does not unlock another unit's bill id.
    expect((await get('/api/units/flat-1/bills/bern-2026-11-bern-t1', 'resident')).statusCode).toBe(404);
  });

  it('lets a board open its units’ bills and summary, not another community’s', async () => {
    expect((await get('/api/units/flat-2/bills/bern-2026-11-bern-t1', 'board')).statusCode).toBe(200);
    expect((await get('/api/units/flat-9/bills/basel-2026-11-basel-t0', 'board')).statusCode).toBe(404);
    const summary = await get('/api/communities/bern/summary', 'board');
    expect(summary.json().periods[0].summary.productionMwh).toBe(20_000_000);
    expect((await get('/api/communities/basel/summary', 'board')).statusCode).toBe(404);
    expect((await get('/api/communities/bern/summary', 'resident')).statusCode).toBe(403);
  });

  it('gives the bill as an HTML download', async () => {
    const r = await get('/api/units/flat-1/bills/bern-2026-11-bern-t0?format=html', 'resident');
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.headers['content-disposition']).toMatch(/attachment; filename="bern-2026-11-bern-t0.html"/);
    expect(r.body).toContain('Electricity bill 2026-11');
    const bad = await get('/api/units/flat-1/bills/bern-2026-11-bern-t0?format=doc', 'resident');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.issues[0].path).toBe('querystring.format');
  });

  it.skipIf(chromium().skipReason)(
    'gives the bill as a PDF',
    async () => {
      const r = await get('/api/units/flat-1/bills/bern-2026-11-bern-t0?format=pdf', 'resident');
      expect(r.statusCode).toBe(200);
      expect(r.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    },
    120_000,
  );
});
