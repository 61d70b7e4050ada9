import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import { onStoreOrRunning, sendUserRequest } from '../../app/control.js';
import { manageUsers, type UserRequest, type UserResult } from '../../app/users.js';
import { GridflexError } from '../../model/index.js';
import { formatGrant, generatePassword, migrateServer, RoleSchema } from '../../server/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';

const DataOption = z.object({ data: z.string().min(1) });
const GrantOption = z
  .array(
    z
      .string()
      .regex(
        /^(site|portfolio|market|unit|community):[a-z0-9][a-z0-9_-]{0,63}$/,
        'expected kind:id with kind site, portfolio, market, unit or community (e.g. site:zev-bern)',
      ),
  )
  .default([]);
const Username = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'use 2-64 lower-case letters, digits, ".", "-" or "_"');

const AddSchema = DataOption.extend({
  username: Username,
  role: RoleSchema,
  grant: GrantOption,
  name: z.string().min(1).max(200).optional(),
  passwordStdin: z.boolean().default(false),
  noPassword: z.boolean().default(false),
});
const TokenSchema = DataOption.extend({
  username: Username.optional(),
  name: z.string().min(1).max(100).default('api'),
  write: z.boolean().default(false),
  revoke: z
    .string()
    .regex(/^[0-9a-f]{12}$/, 'expected the 12-character token id shown by `gridflex user list`')
    .optional(),
});

const actor = () => `cli:${userInfo().username}`;
const argsError = (message: string) => new GridflexError(CLI_ERRORS.ARGS, message, { kind: 'input' });

/**
 * Do a user request against the store: opened here, or, while `gridflex run` holds the
 * embedded database, through the running process's control socket (app/control.ts).
 */
const request = (data: string, req: UserRequest): Promise<UserResult> =>
  onStoreOrRunning(
    { url: process.env.DATABASE_URL, dataDir: data },
    async (store) => {
      await migrateServer(store);
      return manageUsers(store, req);
    },
    () => sendUserRequest(data, req),
  );

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.replace(/\r?\n$/, '');
}

const dataOption = (c: Command) =>
  c.option(
    '--data <dir>',
    'folder of the embedded database (env GRIDFLEX_DATA); DATABASE_URL wins when set',
    process.env.GRIDFLEX_DATA ?? './data',
  );

export function register(program: Command): void {
  const user = program
    .command('user')
    .description('manage who may log in: add users, list them, issue and revoke API tokens');

  dataOption(
    user
      .command('add <username>')
      .description('add a user; prints a generated password unless --password-stdin or --no-password')
      .requiredOption('--role <role>', 'admin, manager, operator, resident or board')
      .option(
        '--grant <kind:id...>',
        'what the user may see: site:ID, portfolio:ID, market:ID, unit:ID, community:ID',
      )
      .option('--name <text>', 'display name')
      .option('--password-stdin', 'read the password from standard input (at least 10 characters)')
      .option('--no-password', 'a machine user that can only use API tokens'),
  ).action(async (username, raw) => {
    const opts = parseOptions(
      AddSchema,
      { ...raw, username, noPassword: raw.password === false },
      'user add',
    );
    let password: string | undefined;
    if (!opts.noPassword) {
      password = opts.passwordStdin ? await readStdin() : generatePassword();
      if (password.length < 10) {
        throw argsError('the password must have at least 10 characters');
      }
    }
    const added = await request(opts.data, {
      op: 'add',
      actor: actor(),
      username: opts.username,
      role: opts.role,
      grants: opts.grant,
      ...(opts.name ? { name: opts.name } : {}),
      ...(password === undefined ? {} : { password }),
    });
    const grants = added.op === 'add' ? added.grants : [];
    console.log(`added ${opts.role} ${opts.username}${grants.length ? ` (${grants.join(', ')})` : ''}`);
    if (password !== undefined && !opts.passwordStdin) console.log(`password: ${password}`);
  });

  dataOption(user.command('list').description('list users, their grants and API tokens')).action(
    async (raw) => {
      const opts = parseOptions(DataOption, raw, 'user list');
      const res = await request(opts.data, { op: 'list' });
      const users = res.op === 'list' ? res.users : [];
      if (users.length === 0) console.log('no users yet; add one with: gridflex user add NAME --role admin');
      for (const u of users) {
        const grants = u.grants.length
          ? u.grants.map(formatGrant).join(', ')
          : u.role === 'admin'
            ? '(all)'
            : '(none)';
        console.log(
          `${u.username.padEnd(16)} ${u.role.padEnd(9)} ${grants}${u.disabled ? '  [disabled]' : ''}`,
        );
        for (const t of u.tokens) {
          const state = t.revoked ? 'revoked' : t.readOnly ? 'read-only' : 'read-write';
          console.log(`  token ${t.id} ${t.name} (${state}; last used ${t.lastUsedAt ?? 'never'})`);
        }
      }
    },
  );

  dataOption(
    user
      .command('token [username]')
      .description("issue an API token acting with the user's role and grants (shown once), or --revoke one")
      .option('--name <text>', 'what the token is for, e.g. scada-export', 'api')
      .option('--write', 'allow state-changing requests (default: read-only)')
      .option('--revoke <id>', 'revoke the token with this id (see gridflex user list)'),
  ).action(async (username, raw) => {
    const opts = parseOptions(TokenSchema, { ...raw, username }, 'user token');
    if (opts.revoke) {
      await request(opts.data, { op: 'revoke', actor: actor(), id: opts.revoke });
      console.log(`revoked token ${opts.revoke}`);
      return;
    }
    if (!opts.username) {
      throw argsError('name the user to issue a token for, or give --revoke ID');
    }
    const t = await request(opts.data, {
      op: 'token',
      actor: actor(),
      username: opts.username,
      name: opts.name,
      write: opts.write,
    });
    if (t.op !== 'token') return;
    console.log(
      `token ${t.id} for ${opts.username} (${opts.write ? 'read-write' : 'read-only'}); it is shown only now:`,
    );
    console.log(t.token);
  });

  for (const sub of user.commands) sub.exitOverride();
}
