import { sql, type Kysely } from 'kysely';

/**
 * Second factors for console users: passkeys (WebAuthn credentials with their
 * signature counter and backup state), one TOTP secret per user (AES-256-GCM
 * under the master key, never in clear; the last accepted time step refuses
 * replays), recovery codes (SHA-256, single use), the WebAuthn challenges in
 * flight (so any API instance can finish a ceremony another one started), and
 * MFA resets waiting for a second administrator. A session records when its
 * last second factor was verified: null means only the password is proven.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE mfa_passkeys (
      id             text PRIMARY KEY,
      user_id        text NOT NULL REFERENCES console_users(id),
      credential_id  text NOT NULL UNIQUE,
      public_key     bytea NOT NULL,
      counter        bigint NOT NULL,
      transports     text[] NOT NULL DEFAULT '{}',
      device_type    text NOT NULL,
      backed_up      boolean NOT NULL,
      name           text NOT NULL,
      created_at     timestamptz NOT NULL,
      last_used_at   timestamptz
    );
    CREATE INDEX mfa_passkeys_user ON mfa_passkeys (user_id);

    CREATE TABLE mfa_totp (
      user_id        text PRIMARY KEY REFERENCES console_users(id),
      key_id         text NOT NULL,
      nonce          bytea NOT NULL,
      ciphertext     bytea NOT NULL,
      tag            bytea NOT NULL,
      confirmed_at   timestamptz,
      last_step      bigint,
      created_at     timestamptz NOT NULL
    );

    CREATE TABLE mfa_recovery_codes (
      user_id        text NOT NULL REFERENCES console_users(id),
      code_hash      text NOT NULL,
      created_at     timestamptz NOT NULL,
      used_at        timestamptz,
      PRIMARY KEY (user_id, code_hash)
    );

    CREATE TABLE webauthn_challenges (
      id             text PRIMARY KEY,
      challenge      text NOT NULL,
      purpose        text NOT NULL CHECK (purpose IN ('register','verify','passwordless')),
      user_id        text REFERENCES console_users(id),
      expires_at     timestamptz NOT NULL
    );
    CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

    CREATE TABLE mfa_resets (
      id             text PRIMARY KEY,
      user_id        text NOT NULL REFERENCES console_users(id),
      requested_by   text NOT NULL,
      requested_at   timestamptz NOT NULL,
      expires_at     timestamptz NOT NULL,
      confirmed_by   text,
      confirmed_at   timestamptz
    );

    ALTER TABLE console_sessions ADD COLUMN factor_at timestamptz;
  `.execute(db);
}
