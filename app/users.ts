import { z } from 'zod';
import { GridflexError } from '../model/index.js';
import {
  AuditLog,
  AuthRepository,
  formatGrant,
  generatePassword,
  parseGrant,
  RoleSchema,
  type UserSummary,
} from '../server/index.js';
import type { Store } from '../store/index.js';
import { APP_ERRORS } from './errors.js';

/**
 * User and token management (`gridflex user`), one implementation whether the CLI opened the
 * store itself or asks the running process over its control socket (control.ts). Requests are
 * data (zod) so the socket can check what it receives.
 */
export const UserRequestSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('add'),
    actor: z.string().min(1),
    username: z.string(),
    role: RoleSchema,
    grants: z.array(z.string()),
    name: z.string().optional(),
    /** Absent: a machine user that can only hold API tokens. */
    password: z.string().optional(),
  }),
  z.object({ op: z.literal('list') }),
  z.object({
    op: z.literal('token'),
    actor: z.string().min(1),
    username: z.string(),
    name: z.string(),
    write: z.boolean(),
  }),
  z.object({ op: z.literal('revoke'), actor: z.string().min(1), id: z.string() }),
]);
export type UserRequest = z.infer<typeof UserRequestSchema>;

export type UserResult =
  | { op: 'add'; username: string; role: string; grants: string[] }
  | { op: 'list'; users: UserSummary[] }
  | { op: 'token'; id: string; token: string }
  | { op: 'revoke'; id: string };

export async function manageUsers(store: Store, req: UserRequest): Promise<UserResult> {
  const auth = new AuthRepository(store.db);
  const audit = new AuditLog(store.db);
  switch (req.op) {
    case 'add': {
      const grants = req.grants.map(parseGrant);
      await auth.addUser({
        username: req.username,
        role: req.role,
        grants,
        displayName: req.name ?? null,
        ...(req.password === undefined ? {} : { password: req.password }),
      });
      await audit.append({
        actor: req.actor,
        action: 'user_added',
        target: req.username,
        details: { role: req.role, grants: grants.map(formatGrant) },
      });
      return { op: 'add', username: req.username, role: req.role, grants: grants.map(formatGrant) };
    }
    case 'list':
      return { op: 'list', users: await auth.listUsers() };
    case 'token': {
      const t = await auth.createToken(req.username, req.name, !req.write);
      await audit.append({
        actor: req.actor,
        action: 'token_created',
        target: req.username,
        details: { id: t.id, name: req.name, readOnly: !req.write },
      });
      return { op: 'token', id: t.id, token: t.token };
    }
    case 'revoke': {
      if (!(await auth.revokeToken(req.id)))
        throw new GridflexError(APP_ERRORS.authNoToken, `no active token ${req.id}`, { kind: 'not_found' });
      await audit.append({ actor: req.actor, action: 'token_revoked', target: req.id });
      return { op: 'revoke', id: req.id };
    }
  }
}

/**
 * The first administrator of a fresh installation, from `GRIDFLEX_ADMIN_PASSWORD` (user
 * `GRIDFLEX_ADMIN_USER`, default `admin`): created only when the store has no user at all, so a
 * restart with the variable still set changes nothing and never resets a password. The password
 * is never printed. Returns what happened, for one line at start.
 */
export async function ensureFirstAdmin(
  store: Store,
  env: { password?: string | undefined; username?: string | undefined },
): Promise<'created' | 'exists' | 'none'> {
  const auth = new AuthRepository(store.db);
  if ((await auth.listUsers()).length > 0) return 'exists';
  if (!env.password) return 'none';
  if (env.password.length < 10)
    throw new GridflexError(
      APP_ERRORS.authWeakPassword,
      'GRIDFLEX_ADMIN_PASSWORD must have at least 10 characters',
      {
        kind: 'input',
      },
    );
  const username = env.username || 'admin';
  await auth.addUser({
    username,
    role: 'admin',
    grants: [],
    displayName: 'Administrator',
    password: env.password,
  });
  await new AuditLog(store.db).append({
    actor: 'env:GRIDFLEX_ADMIN_PASSWORD',
    action: 'user_added',
    target: username,
    details: { role: 'admin', grants: [] },
  });
  return 'created';
}

export { generatePassword };
