import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/index.js';
import type { Role } from './access.js';
import { AuthRepository, type NewUser } from './auth/repository.js';
import { migrateServer } from './services.js';

/** One user per role with grants a test can reason about (the test sites use `bern`). */
export const ROLE_USERS: Record<Role, NewUser & { password: string }> = {
  admin: { username: 'ada', role: 'admin', grants: [], password: 'admin-pass-1' },
  manager: {
    username: 'max',
    role: 'manager',
    grants: [{ kind: 'site', ref: 'bern' }],
    password: 'manager-pass-1',
  },
  operator: {
    username: 'olga',
    role: 'operator',
    grants: [
      { kind: 'portfolio', ref: 'alpine' },
      { kind: 'site', ref: 'bern' },
    ],
    password: 'operator-pass-1',
  },
  resident: {
    username: 'rita',
    role: 'resident',
    grants: [{ kind: 'unit', ref: 'flat-1' }],
    password: 'resident-pass-1',
  },
  board: {
    username: 'bob',
    role: 'board',
    grants: [{ kind: 'community', ref: 'bern' }],
    password: 'board-pass-1',
  },
};

/** Create the ROLE_USERS (hashing five passwords takes about 0.7 s). */
export async function addRoleUsers(store: Store): Promise<AuthRepository> {
  await migrateServer(store);
  const auth = new AuthRepository(store.db);
  for (const user of Object.values(ROLE_USERS)) await auth.addUser(user);
  return auth;
}

/** Log in through the API as a browser would; returns the `cookie` header for later requests. */
export async function loginCookie(app: FastifyInstance, username: string, password: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { origin: 'http://localhost' },
    payload: { username, password },
  });
  if (res.statusCode !== 200) throw new Error(`login as ${username} failed: ${res.statusCode} ${res.body}`);
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  return cookie;
}
