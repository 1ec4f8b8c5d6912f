import { sql, type Kysely } from 'kysely';

/**
 * Failed and in-flight sign-ins, counted per (user, address), per user and per
 * address. In the database, so every API instance on one PostgreSQL server
 * counts the same attempts. The username is stored as a SHA-256 hash: people
 * type passwords into the username field. `password_change_required` is set
 * by an administrator's password reset: that user must choose a new password
 * before doing anything else.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE sign_in_attempts (
      id            text PRIMARY KEY,
      username_hash text NOT NULL,
      address       text NOT NULL,
      at            timestamptz NOT NULL
    );
    CREATE INDEX sign_in_attempts_user ON sign_in_attempts (username_hash, at);
    CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);
    CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);

    ALTER TABLE console_users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
  `.execute(db);
}
