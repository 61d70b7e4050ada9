-- Users, their grants, browser sessions, API tokens and the audit log (server/README.md "Auth").
CREATE TABLE auth_users (
  id serial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text,
  role text NOT NULL CHECK (role IN ('admin', 'manager', 'operator', 'resident', 'board')),
  -- scrypt$N$r$p$salt$hash; NULL for a machine user that only holds API tokens.
  password_hash text,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_grants (
  user_id integer NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('site', 'portfolio', 'market', 'unit', 'community')),
  ref text NOT NULL,
  PRIMARY KEY (user_id, kind, ref)
);

-- Only the SHA-256 of a session cookie is stored: a copy of this table opens no session.
CREATE TABLE auth_sessions (
  id_hash text PRIMARY KEY,
  user_id integer NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE auth_tokens (
  id text PRIMARY KEY,
  user_id integer NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  name text NOT NULL,
  secret_hash text NOT NULL,
  read_only boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  ts timestamptz NOT NULL DEFAULT now(),
  actor text,
  action text NOT NULL,
  target text,
  outcome text NOT NULL DEFAULT 'ok',
  ip text,
  details jsonb
);
CREATE INDEX audit_log_ts ON audit_log (ts);
