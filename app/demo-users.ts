import type { Site } from '../model/index.js';
import {
  AuditLog,
  AuthRepository,
  type Grant,
  generatePassword,
  migrateServer,
  type Role,
} from '../server/index.js';
import type { Store } from '../store/index.js';

/** The unit of the demo resident: a flat of the bundled zev-bern community. */
export const DEMO_RESIDENT_UNIT = 'apt-1';

export interface DemoUser {
  username: string;
  role: Role;
  grants: Grant[];
  password: string;
}

/**
 * One user per role for `gridflex demo`, each with a fresh random password on every start
 * (printed once), so a demo left listening on a network never has a guessable login.
 * The resident holds flat apt-1 and the board the community of the first site: with the default
 * sites that is the ZEV of the simulated zev-bern building (deploy/examples/zev-bern-community.yaml),
 * whose bills `gridflex demo` issues at start.
 */
export async function ensureDemoUsers(store: Store, sites: readonly Site[]): Promise<DemoUser[]> {
  await migrateServer(store);
  const auth = new AuthRepository(store.db);
  const siteGrants: Grant[] = sites.map((s) => ({ kind: 'site', ref: s.id }));
  const community = sites[0]?.id ?? 'demo';
  const users: Omit<DemoUser, 'password'>[] = [
    { username: 'admin', role: 'admin', grants: [] },
    { username: 'manager', role: 'manager', grants: siteGrants },
    { username: 'operator', role: 'operator', grants: [{ kind: 'portfolio', ref: 'demo' }, ...siteGrants] },
    { username: 'resident', role: 'resident', grants: [{ kind: 'unit', ref: DEMO_RESIDENT_UNIT }] },
    { username: 'board', role: 'board', grants: [{ kind: 'community', ref: community }] },
  ];
  const audit = new AuditLog(store.db);
  const out: DemoUser[] = [];
  for (const u of users) {
    const password = generatePassword();
    await auth.addUser({ ...u, displayName: `Demo ${u.role}`, password }, { replace: true });
    await audit.append({
      actor: 'demo',
      action: 'user_added',
      target: u.username,
      details: { role: u.role },
    });
    out.push({ ...u, password });
  }
  return out;
}
