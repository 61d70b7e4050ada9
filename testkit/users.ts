import type { Role } from '../server/access.js';
import { AuthRepository, type NewUser } from '../server/auth/repository.js';
import { migrateServer } from '../server/services.js';
import type { Store } from '../store/index.js';

/** A user to create, with the password a test logs in with. */
export type TestUser = NewUser & { password: string };

/** One user per role with grants a test can reason about (the test sites use `bern`). */
export const ROLE_USERS: Record<Role, TestUser> = {
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

/** A resident of apt-1 and a board member of the demo's zev-bern community (deploy/examples). */
export const ZEV_BERN_USERS: Record<'resident' | 'board', TestUser> = {
  resident: {
    username: 'rosa',
    role: 'resident',
    grants: [{ kind: 'unit', ref: 'apt-1' }],
    password: 'resident-pass-1',
  },
  board: {
    username: 'boris',
    role: 'board',
    grants: [{ kind: 'community', ref: 'zev-bern' }],
    password: 'board-pass-1',
  },
};

/** Create these users (each password hash takes about 0.15 s), migrating the auth tables first. */
export async function addUsers(store: Store, users: Record<string, TestUser>): Promise<AuthRepository> {
  await migrateServer(store);
  const auth = new AuthRepository(store.db);
  for (const user of Object.values(users)) await auth.addUser(user);
  return auth;
}

/** Create the ROLE_USERS. */
export const addRoleUsers = (store: Store): Promise<AuthRepository> => addUsers(store, ROLE_USERS);
