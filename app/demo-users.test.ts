import { describe, expect, it } from 'vitest';
import { AuditLog, AuthRepository } from '../server/index.js';
import { openStore } from '../store/index.js';
import { bernSite, testSites } from '../testkit/sites.js';
import { ensureDemoUsers } from './demo-users.js';

const sites = testSites(bernSite({ id: 'zev-bern', buildings: [] }));

describe('demo users', () => {
  it('creates one user per role with fresh passwords at every start; old passwords stop working', async () => {
    const store = await openStore({ dataDir: 'memory://' });
    try {
      const first = await ensureDemoUsers(store, sites);
      expect(first.map((u) => u.role)).toEqual(['admin', 'manager', 'operator', 'resident', 'board']);
      const auth = new AuthRepository(store.db);
      const manager = first.find((u) => u.role === 'manager')!;
      expect((await auth.checkPassword('manager', manager.password))?.grants).toEqual([
        { kind: 'site', ref: 'zev-bern' },
      ]);
      const second = await ensureDemoUsers(store, sites);
      expect(second.find((u) => u.role === 'manager')!.password).not.toBe(manager.password);
      expect(await auth.checkPassword('manager', manager.password)).toBeNull();
      expect((await new AuditLog(store.db).recent(20)).filter((e) => e.action === 'user_added')).toHaveLength(
        10,
      );
    } finally {
      await store.close();
    }
    // Twelve scrypt hashes (32 MiB each) take ~25 s when the shared machine is loaded.
  }, 120_000);
});
