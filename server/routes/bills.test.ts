import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { issueExampleBills } from '../../testkit/bills.js';
import { roleCookies } from '../../testkit/login.js';
import { chromium } from '../../testkit/system.js';
import { addRoleUsers, ROLE_USERS } from '../../testkit/users.js';
import { AuditLog } from '../audit.js';

// The community's signing key for this file's ledger (issue and verify use the same folder).
process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-bills-keys-'));

const D0 = Date.UTC(2026, 10, 2);
let store: Store;
let app: FastifyInstance;
const cookies = {} as Record<'admin' | 'resident' | 'board' | 'manager' | 'operator', string>;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  // The § 7.6 example as community "bern" (the test users' community) with units flat-1…3.
  await issueExampleBills(store, 'bern', ['flat-1', 'flat-2', 'flat-3'], D0);
  await issueExampleBills(store, 'basel', ['flat-9', 'flat-8', 'flat-7'], D0);
  app = await buildApp({ store, hub: new Hub(), sites: [], version: 'test' });
  await addRoleUsers(store);
  Object.assign(cookies, await roleCookies(app, ['admin', 'resident', 'board', 'manager', 'operator']));
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

const get = (url: string, role: keyof typeof cookies) =>
  app.inject({ url, headers: { cookie: cookies[role] } });
const put = (url: string, role: keyof typeof cookies, payload: unknown) =>
  app.inject({
    method: 'PUT',
    url,
    payload: payload as object,
    headers: { cookie: cookies[role], origin: 'http://localhost:80' },
  });
const auditOf = async (action: string) =>
  (await new AuditLog(store.db).recent(500)).filter((a) => a.action === action);

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

describe('verifying a bill over HTTP', () => {
  const verify = '/api/units/flat-1/bills/bern-2026-11-bern-t0/verify';

  it('says plainly that the bill is in the ledger, signed, and checks a printed checkpoint', async () => {
    const bill = (await get('/api/units/flat-1/bills/bern-2026-11-bern-t0', 'resident')).json();
    expect(bill.checkpoint).toMatchObject({ seq: expect.any(Number), signature: expect.any(String) });
    const r = await get(`${verify}?checkpoint=${bill.checkpoint.seq}:${bill.checkpoint.hash}`, 'resident');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, keyId: bill.checkpoint.keyId });
    expect(r.json().message).toMatch(
      /^This bill is in the community's ledger .* signed on \d{4}-\d{2}-\d{2}/,
    );
    const wrong = await get(`${verify}?checkpoint=${bill.checkpoint.seq}:${'0'.repeat(64)}`, 'resident');
    expect(wrong.json()).toMatchObject({
      ok: false,
      message: expect.stringMatching(/could not be confirmed/),
    });
    expect((await get(`${verify}?checkpoint=12:abc`, 'resident')).statusCode).toBe(400);
  });

  it.each([
    ['resident', 200],
    ['board', 200],
    ['admin', 200],
    ['manager', 403],
    ['operator', 403],
  ] as const)('%s verifying flat-1’s bill gets %i', async (role, status) => {
    expect((await get(verify, role)).statusCode).toBe(status);
  });
});

describe('privacy of a flat’s consumption (finding 10, bills side)', () => {
  const billUrl = '/api/units/flat-2/bills/bern-2026-11-bern-t1';

  it('shows the board a flat’s totals but not its daily profile without consent, and audits the look', async () => {
    const before = (await auditOf('bill_viewed')).length;
    const r = await get(billUrl, 'board');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ totalMinor: expect.any(Number), daily: [], profileWithheld: true });
    expect(r.json().energy.consumptionMwh).toBeGreaterThan(0);
    const html = await get(`${billUrl}?format=html`, 'board');
    expect(html.body).toContain('shown to the resident only');
    expect(html.body).not.toContain('<rect');
    const seen = await auditOf('bill_viewed');
    expect(seen.length).toBe(before + 2);
    expect(seen[0]).toMatchObject({
      actor: ROLE_USERS.board.username,
      target: `unit:flat-2/bill:bern-2026-11-bern-t1`,
    });
    // The resident's own look is not someone else's access: not audited, and the profile is there.
    const own = await get('/api/units/flat-1/bills/bern-2026-11-bern-t0', 'resident');
    expect(own.json().daily.length).toBeGreaterThan(0);
    expect(own.json().profileWithheld).toBeUndefined();
    expect((await auditOf('bill_viewed')).length).toBe(before + 2);
  });

  it('lets a resident read and export only its own 15-minute profile (JSON and CSV)', async () => {
    const list = await get('/api/units/flat-1/profiles', 'resident');
    expect(list.json()).toMatchObject({ periods: ['2026-11'], consent: { boardMaySeeProfile: false } });
    const json = await get('/api/units/flat-1/profiles/2026-11', 'resident');
    expect(json.statusCode).toBe(200);
    const p = JSON.parse(json.body);
    expect(p.consumptionMwh).toHaveLength(4);
    expect(p.solarMwh.reduce((a: number, b: number) => a + b, 0)).toBe(3_666_667);
    const csv = await get('/api/units/flat-1/profiles/2026-11?format=csv', 'resident');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/flat-1-2026-11\.csv/);
    expect(csv.body.split('\n')[0]).toBe('start_utc,consumption_kwh,solar_kwh,grid_kwh,quality');
    expect(csv.body.trim().split('\n')).toHaveLength(5);
    expect((await get('/api/units/flat-2/profiles/2026-11', 'resident')).statusCode).toBe(404);
  });

  it.each([
    ['board', 403],
    ['admin', 403],
    ['manager', 403],
    ['operator', 403],
  ] as const)('without consent, %s asking for flat-1’s profile gets %i', async (role, status) => {
    expect((await get('/api/units/flat-1/profiles/2026-11', role)).statusCode).toBe(status);
  });

  it('shows the board the profile once the resident consents, audited; withdrawing closes it again', async () => {
    expect((await put('/api/units/flat-1/consent', 'board', { boardMaySeeProfile: true })).statusCode).toBe(
      403,
    );
    expect(
      (await put('/api/units/flat-2/consent', 'resident', { boardMaySeeProfile: true })).statusCode,
    ).toBe(404);
    const given = await put('/api/units/flat-1/consent', 'resident', { boardMaySeeProfile: true });
    expect(given.statusCode).toBe(200);
    expect(given.json()).toMatchObject({ boardMaySeeProfile: true, changedBy: ROLE_USERS.resident.username });
    expect((await auditOf('profile_consent'))[0]).toMatchObject({
      target: 'unit:flat-1',
      details: { boardMaySeeProfile: true },
    });
    expect((await get('/api/units/flat-1/consent', 'board')).json().boardMaySeeProfile).toBe(true);

    const before = (await auditOf('profile_viewed')).length;
    const profile = await get('/api/units/flat-1/profiles/2026-11', 'board');
    expect(profile.statusCode).toBe(200);
    expect(
      (await get('/api/units/flat-1/bills/bern-2026-11-bern-t0', 'board')).json().daily.length,
    ).toBeGreaterThan(0);
    const viewed = await auditOf('profile_viewed');
    expect(viewed.length).toBe(before + 1);
    expect(viewed[0]).toMatchObject({ actor: ROLE_USERS.board.username, outcome: 'ok' });
    // Another community's board is outside its grant.
    expect((await get('/api/units/flat-9/profiles/2026-11', 'board')).statusCode).toBe(404);
    expect((await get('/api/units/flat-1/profiles/2026-11', 'manager')).statusCode).toBe(403);

    await put('/api/units/flat-1/consent', 'resident', { boardMaySeeProfile: false });
    expect((await get('/api/units/flat-1/profiles/2026-11', 'board')).statusCode).toBe(403);
    expect((await auditOf('profile_viewed'))[0]).toMatchObject({ outcome: 'refused' });
  });
});
