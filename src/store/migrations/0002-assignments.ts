import { sql, type Kysely } from 'kysely';

/**
 * Stored assignments: access an identity should hold because a request was
 * approved or an exception was granted. Rule (birthright) assignments are not
 * stored: the engine computes them from policy every time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE assignments (
      id            text PRIMARY KEY,
      identity_key  text NOT NULL REFERENCES identities(key),
      system        text NOT NULL,
      entitlement   text NOT NULL,
      reason_type   text NOT NULL CHECK (reason_type IN ('request','exception')),
      reason        jsonb NOT NULL,
      valid_from    timestamptz,
      valid_to      timestamptz,
      state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active','expired','revoked')),
      created_at    timestamptz NOT NULL DEFAULT now(),
      created_by    text NOT NULL,
      ended_at      timestamptz,
      ended_by      text
    );
    CREATE INDEX assignments_identity ON assignments (identity_key) WHERE state = 'active';
    CREATE INDEX assignments_expiry ON assignments (valid_to) WHERE state = 'active' AND valid_to IS NOT NULL;
  `.execute(db);
}
