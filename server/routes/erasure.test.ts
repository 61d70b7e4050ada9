import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseHouseholdData } from '../../app/erasure.js';
import { billedUntil } from '../../app/retention-scheduler.js';
import { buildApp } from '../../app/testing.js';
import {
  type CommunityConfig,
  compileCommunity,
  issueBills,
  Ledger,
  parseReadingsCsv,
} from '../../ledger/index.js';
import { exampleCommunity, exampleCsv } from '../../ledger/testing.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { AuditLog } from '../audit.js';
import { addRoleUsers, loginCookie, ROLE_USERS } from '../testing.js';

process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-erasure-keys-'));

const D0 = Date.UTC(2026, 10, 2);
type Role = 'admin' | 'resident' | 'board' | 'manager' | 'operator';
let store: Store;
let app: FastifyInstance;
let config: CommunityConfig;
const cookies = {} as Record<Role, string>;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const base = exampleCommunity();
  const flats = ['flat-1', 'flat-2', 'flat-3'];
  config = exampleCommunity({
    id: 'bern',
    units: base.units.map((u, i) => ({ ...u, id: flats[i]! })),
    members: base.members.map((m, i) => ({ ...m, id: `bern-t${i}`, unit: flats[i]! })),
  });
  const period = { label: '2026-11', startMs: D0, endMs: D0 + 4 * 900_000 };
  await issueBills(
    await Ledger.open(store),
    compileCommunity(config),
    period,
    parseReadingsCsv(exampleCsv(D0)),
  );
  app = await buildApp({
    store,
    hub: new Hub(),
    sites: [],
    version: 'test',
    erasure: {
      erase: async (unit) =>
        eraseHouseholdData(store, [config], unit, { billedUntilMs: await billedUntil(store, [config]) }),
    },
  });
  await addRoleUsers(store);
  for (const role of ['admin', 'resident', 'board', 'manager', 'operator'] as const)
    cookies[role] = await loginCookie(app, ROLE_USERS[role].username, ROLE_USERS[role].password);
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
