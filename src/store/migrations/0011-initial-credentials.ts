import { sql, type Kysely } from 'kysely';

/**
 * Initial credentials: a password jml set on an account it created or
 * re-enabled, kept encrypted (AES-256-GCM under the master key, like connector
 * secrets) only until the person who delivers it has seen it once. The value
 * never appears in plans, tasks, audit entries or logs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE initial_credentials (
      id            text PRIMARY KEY,
      system        text NOT NULL,
      identity_key  text NOT NULL,
      change_id     text NOT NULL,
      account_id    text,
      -- pending: sealed before the system is changed; ready: set in the system, awaiting delivery;
      -- revealed: shown once and destroyed.
      state         text NOT NULL CHECK (state IN ('pending','ready','revealed')),
      key_id        text,
      nonce         bytea,
      ciphertext    bytea,
      tag           bytea,
      task_id       text,
      created_at    timestamptz NOT NULL,
      revealed_by   text,
      revealed_at   timestamptz,
      CHECK ((state = 'revealed') = (ciphertext IS NULL))
    );
    -- One secret per change in flight: a retry of the same change sets the same password.
    CREATE UNIQUE INDEX initial_credentials_pending ON initial_credentials (change_id) WHERE state = 'pending';
    CREATE INDEX initial_credentials_identity ON initial_credentials (identity_key, state);
  `.execute(db);
}
