import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { erasureService } from '../../testkit/app.js';
import { issueExampleBills } from '../../testkit/bills.js';
import { roleCookies } from '../../testkit/login.js';
import { addRoleUsers, ROLE_USERS } from '../../testkit/users.js';
import { AuditLog } from '../audit.js';

process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-erasure-keys-'));

const D0 = Date.UTC(2026, 10, 2);
type Role = 'admin' | 'resident' | 'board' | 'manager' | 'operator';
let store: Store;
let app: FastifyInstance;
const cookies = {} as Record<Role, string>;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const config = await issueExampleBills(store, 'bern', ['flat-1', 'flat-2', 'flat-3'], D0);
  app = await buildApp({
    store,
    hub: new Hub(),
    sites: [],
    version: 'test',
    erasure: erasureService(store, [config]),
  });
  await addRoleUsers(store);
  Object.assign(cookies, await roleCookies(app, ['admin', 'resident', 'board', 'manager', 'operator']));
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

const erase = (unit: string, role: Role, payload: unknown = { confirm: 'erase' }) =>
  app.inject({
    method: 'DELETE',
    url: `/api/units/${unit}/data`,
    payload: payload as object,
    headers: { cookie: cookies[role], origin: 'http://localhost:80' },
  });
const periods = async (unit: string) =>
  (await app.inject({ url: `/api/units/${unit}/profiles`, headers: { cookie: cookies.admin } })).json()
    .periods as string[];

describe('a resident erases its flat’s billed interval data (issue #15 finding 10)', () => {
  it('nobody else may: board, manager, operator and admin are refused and nothing changes', async () => {
    for (const role of ['board', 'manager', 'operator', 'admin'] as const)
      expect((await erase('flat-1', role)).statusCode).toBeGreaterThanOrEqual(403);
    // Another flat than the resident's own.
    expect((await erase('flat-2', 'resident')).statusCode).toBeGreaterThanOrEqual(403);
    expect(await periods('flat-1')).toEqual(['2026-11']);
    expect(await periods('flat-2')).toEqual(['2026-11']);
  });

  it('without the explicit confirmation it is a 400 naming the field, and nothing changes', async () => {
    const res = await erase('flat-1', 'resident', {});
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('confirm');
    expect(await periods('flat-1')).toEqual(['2026-11']);
  });

  it('deletes the flat’s 15-minute profiles, keeps its bill, leaves the neighbours alone and is audited', async () => {
    const res = await erase('flat-1', 'resident');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ unit: 'flat-1', profiles: 1 });
    expect(await periods('flat-1')).toEqual([]);
    expect(await periods('flat-2')).toEqual(['2026-11']);
    const bills = (await app.inject({ url: '/api/bills', headers: { cookie: cookies.resident } })).json()
      .bills as { id: string }[];
    expect(bills.map((b) => b.id)).toEqual(['bern-2026-11-bern-t0']);
    const audit = (await new AuditLog(store.db).recent(200)).filter(
      (a) => a.action === 'personal_data_erased',
    );
    expect(audit).toMatchObject([{ actor: ROLE_USERS.resident.username, target: 'unit:flat-1' }]);
  });
});
