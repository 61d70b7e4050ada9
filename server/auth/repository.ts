import { GridflexError } from '../../model/index.js';
import type { Db } from '../../store/index.js';
import { SERVER_ERRORS } from '../errors.js';
import { checkGrants, type Grant, type Identity } from './identity.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { Role } from './roles.js';
import { newApiToken, newSessionSecret, parseApiToken, sameHash, sha256 } from './secrets.js';

export const UsernameSchemaPattern = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export interface UserSummary {
  id: number;
  username: string;
  displayName: string | null;
  role: Role;
  grants: Grant[];
  disabled: boolean;
  tokens: { id: string; name: string; readOnly: boolean; revoked: boolean; lastUsedAt: string | null }[];
}

export interface NewUser {
  username: string;
  displayName?: string | null;
  role: Role;
  grants: Grant[];
  /** Omit for a machine user that only holds API tokens. */
  password?: string;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string | null;
  role: Role;
  password_hash: string | null;
  disabled: boolean;
}

/** Users, grants, sessions and API tokens in the store's `auth_*` tables. */
export class AuthRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Create a user, or with `replace` reset an existing one's role, grants and password (demo users). */
  async addUser(user: NewUser, { replace = false } = {}): Promise<number> {
    if (!UsernameSchemaPattern.test(user.username)) {
      throw new GridflexError(
        SERVER_ERRORS.AUTH_BAD_USERNAME,
        `username "${user.username}": use 2-64 lower-case letters, digits, ".", "-" or "_"`,
        { kind: 'input' },
      );
    }
    const problem = checkGrants(user.role, user.grants);
    if (problem) throw new GridflexError(SERVER_ERRORS.AUTH_BAD_GRANT, problem, { kind: 'input' });
    const hash = user.password === undefined ? null : await hashPassword(user.password);
    return this.db.transaction(async (tx) => {
      const existing = await tx.query<{ id: number }>('SELECT id FROM auth_users WHERE username = $1', [
        user.username,
      ]);
      let id = existing.rows[0]?.id;
      if (id !== undefined && !replace) {
        throw new GridflexError(SERVER_ERRORS.AUTH_USER_EXISTS, `user "${user.username}" already exists`, {
          kind: 'conflict',
        });
      }
      if (id === undefined) {
        const res = await tx.query<{ id: number }>(
          'INSERT INTO auth_users (username, display_name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING id',
          [user.username, user.displayName ?? null, user.role, hash],
        );
        id = res.rows[0]!.id;
      } else {
        await tx.query(
          'UPDATE auth_users SET display_name = $2, role = $3, password_hash = $4, disabled = false WHERE id = $1',
          [id, user.displayName ?? null, user.role, hash],
        );
        await tx.query('DELETE FROM auth_grants WHERE user_id = $1', [id]);
        await tx.query('DELETE FROM auth_sessions WHERE user_id = $1', [id]);
      }
      for (const g of user.grants) {
        await tx.query('INSERT INTO auth_grants (user_id, kind, ref) VALUES ($1, $2, $3)', [
          id,
          g.kind,
          g.ref,
        ]);
      }
      return id;
    });
  }

  async listUsers(): Promise<UserSummary[]> {
    const users = await this.db.query<UserRow>(
      'SELECT id, username, display_name, role, password_hash, disabled FROM auth_users ORDER BY username',
    );
    const grants = await this.db.query<{ user_id: number } & Grant>(
      'SELECT user_id, kind, ref FROM auth_grants ORDER BY kind, ref',
    );
    const tokens = await this.db.query<{
      user_id: number;
      id: string;
      name: string;
      read_only: boolean;
      revoked_at: Date | null;
      last_used_at: Date | null;
    }>('SELECT user_id, id, name, read_only, revoked_at, last_used_at FROM auth_tokens ORDER BY created_at');
    return users.rows.map((u) => ({
      id: u.id,
      username: u.username,
      displayName: u.display_name,
      role: u.role,
      disabled: u.disabled,
      grants: grants.rows.filter((g) => g.user_id === u.id).map((g) => ({ kind: g.kind, ref: g.ref })),
      tokens: tokens.rows
        .filter((t) => t.user_id === u.id)
        .map((t) => ({
          id: t.id,
          name: t.name,
          readOnly: t.read_only,
          revoked: t.revoked_at !== null,
          lastUsedAt: t.last_used_at ? new Date(t.last_used_at).toISOString() : null,
        })),
    }));
  }

  private async identityOf(user: UserRow, via: Identity['via'], readOnly: boolean): Promise<Identity> {
    const grants = await this.db.query<Grant>(
      'SELECT kind, ref FROM auth_grants WHERE user_id = $1 ORDER BY kind, ref',
      [user.id],
    );
    return {
      userId: user.id,
      username: user.username,
      displayName: user.display_name,
      role: user.role,
      grants: grants.rows.map((g) => ({ kind: g.kind, ref: g.ref })),
      via,
      readOnly,
    };
  }

  /** The identity for a correct username and password; null otherwise (same time either way). */
  async checkPassword(username: string, password: string): Promise<Identity | null> {
    const res = await this.db.query<UserRow>(
      'SELECT id, username, display_name, role, password_hash, disabled FROM auth_users WHERE username = $1',
      [username.trim().toLowerCase()],
    );
    const user = res.rows[0];
    const ok = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
    if (!user?.password_hash || user.disabled || !ok) return null;
    return this.identityOf(user, 'session', false);
  }

  /** Start a session; returns the cookie value (only its hash is stored). */
  async createSession(userId: number, ttlMs: number): Promise<string> {
    const secret = newSessionSecret();
    await this.db.query('INSERT INTO auth_sessions (id_hash, user_id, expires_at) VALUES ($1, $2, $3)', [
      sha256(secret),
      userId,
      new Date(this.now() + ttlMs),
    ]);
    return secret;
  }

  async resolveSession(secret: string): Promise<Identity | null> {
    const res = await this.db.query<UserRow>(
      `SELECT u.id, u.username, u.display_name, u.role, u.password_hash, u.disabled
         FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id
        WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`,
      [sha256(secret), new Date(this.now())],
    );
    return res.rows[0] ? this.identityOf(res.rows[0], 'session', false) : null;
  }

  async endSession(secret: string): Promise<void> {
    await this.db.query('DELETE FROM auth_sessions WHERE id_hash = $1 OR expires_at <= $2', [
      sha256(secret),
      new Date(this.now()),
    ]);
  }

  /** Issue an API token for a user; the token is returned once and only its hash is kept. */
  async createToken(
    username: string,
    name: string,
    readOnly: boolean,
  ): Promise<{ id: string; token: string }> {
    const user = await this.db.query<{ id: number }>('SELECT id FROM auth_users WHERE username = $1', [
      username,
    ]);
    if (!user.rows[0])
      throw new GridflexError(SERVER_ERRORS.AUTH_NO_USER, `no user "${username}"`, { kind: 'not_found' });
    const t = newApiToken();
    await this.db.query(
      'INSERT INTO auth_tokens (id, user_id, name, secret_hash, read_only) VALUES ($1, $2, $3, $4, $5)',
      [t.id, user.rows[0].id, name, sha256(t.secret), readOnly],
    );
    return { id: t.id, token: t.token };
  }

  async revokeToken(id: string): Promise<boolean> {
    const res = await this.db.query(
      'UPDATE auth_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, new Date(this.now())],
    );
    return res.rowCount > 0;
  }

  async resolveToken(token: string): Promise<Identity | null> {
    const parsed = parseApiToken(token);
    if (!parsed) return null;
    const res = await this.db.query<UserRow & { secret_hash: string; read_only: boolean }>(
      `SELECT u.id, u.username, u.display_name, u.role, u.password_hash, u.disabled, t.secret_hash, t.read_only
         FROM auth_tokens t JOIN auth_users u ON u.id = t.user_id
        WHERE t.id = $1 AND t.revoked_at IS NULL AND NOT u.disabled`,
      [parsed.id],
    );
    const row = res.rows[0];
    if (!row || !sameHash(sha256(parsed.secret), row.secret_hash)) return null;
    await this.db.query('UPDATE auth_tokens SET last_used_at = $2 WHERE id = $1', [
      parsed.id,
      new Date(this.now()),
    ]);
    return this.identityOf(row, 'token', row.read_only);
  }
}
