import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing.js';

describe('gridflex user', () => {
  // Each run starts the CLI from source (~20 s on the shared 2-core machine under load).
  it('adds users with grants, issues and revokes tokens, lists them, and names a bad flag', async () => {
    const data = await mkdtemp(join(tmpdir(), 'gfx-user-'));
    const add = await runCli([
      'user',
      'add',
      'alice',
      '--role',
      'manager',
      '--grant',
      'site:zev-bern',
      '--data',
      data,
    ]);
    expect(add.stderr).not.toMatch(/gridflex:/);
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^added manager alice \(site:zev-bern\)\npassword: [\w-]{24}\n$/);

    const wrongGrant = await runCli([
      'user',
      'add',
      'rita',
      '--role',
      'resident',
      '--grant',
      'site:x',
      '--data',
      data,
    ]);
    expect(wrongGrant.code).toBe(2);
    expect(wrongGrant.stderr).toContain('gridflex: a resident may be granted unit only (got site:x)');

    const token = await runCli(['user', 'token', 'alice', '--name', 'scada', '--data', data]);
    expect(token.code).toBe(0);
    const [, id] = token.stdout.match(/^token ([0-9a-f]{12}) for alice \(read-only\)/)!;
    expect(token.stdout).toMatch(new RegExp(`\\ngfx_${id}_[\\w-]{43}\\n$`));

    const revoke = await runCli(['user', 'token', '--revoke', id!, '--data', data]);
    expect(revoke.stdout).toBe(`revoked token ${id}\n`);

    const list = await runCli(['user', 'list', '--data', data]);
    expect(list.stdout).toContain('alice            manager   site:zev-bern');
    expect(list.stdout).toContain(`token ${id} scada (revoked; last used never)`);
  }, 300_000);

  it('rejects a malformed grant naming the flag, with exit code 2', async () => {
    const res = await runCli(['user', 'add', 'bob', '--role', 'board', '--grant', 'bern']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('gridflex: invalid option for gridflex user add: --grant: expected kind:id');
  }, 120_000);
});
