import { sql, type Kysely } from 'kysely';

/**
 * Connector secrets, encrypted (AES-256-GCM) by src/connectors/secrets under a
 * master key that never enters the database. `bound_host` is the host the
 * secret may be sent to; it is also part of the authenticated data.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE connector_secrets (
      system      text NOT NULL,
      field       text NOT NULL,
      key_id      text NOT NULL,
      nonce       bytea NOT NULL,
      ciphertext  bytea NOT NULL,
      tag         bytea NOT NULL,
      bound_host  text NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (system, field)
    );
    CREATE INDEX connector_secrets_key ON connector_secrets (key_id);
  `.execute(db);
}
