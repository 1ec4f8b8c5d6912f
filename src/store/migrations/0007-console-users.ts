import { sql, type Kysely } from 'kysely';

/**
 * People who sign in to the console and API, their sessions and API tokens.
 * Secrets are never stored: passwords as scrypt hashes, session and API token
 * values as SHA-256 hashes. A user may be linked to an identity; when that
 * identity leaves, every request they make is refused (checked per request).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE console_users (
      id              text PRIMARY KEY,
      username        text NOT NULL,
      display_name    text NOT NULL,
      password_hash   text,
      identity_key    text REFERENCES identities(key),
      roles           text[] NOT NULL DEFAULT '{}',
      status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
      oidc_subject    text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      last_sign_in_at timestamptz
    );
    CREATE UNIQUE INDEX console_users_username ON console_users (lower(username));
    CREATE UNIQUE INDEX console_users_oidc ON console_users (oidc_subject) WHERE oidc_subject IS NOT NULL;
    CREATE INDEX console_users_identity ON console_users (identity_key) WHERE identity_key IS NOT NULL;

    CREATE TABLE console_sessions (
      token_hash    text PRIMARY KEY,
      user_id       text NOT NULL REFERENCES console_users(id),
      csrf_token    text NOT NULL,
      created_at    timestamptz NOT NULL,
      expires_at    timestamptz NOT NULL,
      revoked_at    timestamptz
    );
    CREATE INDEX console_sessions_user ON console_sessions (user_id) WHERE revoked_at IS NULL;

    CREATE TABLE api_tokens (
      id            text PRIMARY KEY,
      user_id       text NOT NULL REFERENCES console_users(id),
      name          text NOT NULL,
      token_hash    text NOT NULL UNIQUE,
      scopes        text[] NOT NULL,
      created_at    timestamptz NOT NULL,
      expires_at    timestamptz NOT NULL,
      last_used_at  timestamptz,
      revoked_at    timestamptz
    );
    CREATE INDEX api_tokens_user ON api_tokens (user_id);

    -- The reporting chain (manager scope) and the people list's search walk these.
    CREATE INDEX identities_manager ON identities ((attributes->>'manager'));
    CREATE INDEX identities_department ON identities ((attributes->>'department'));
  `.execute(db);
}
