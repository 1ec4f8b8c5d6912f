import { sql, type Kysely } from 'kysely';

/**
 * The monthly check runs by itself: each check remembers which notices it has
 * sent (the invitation, each reminder, the escalation), so a notice is sent
 * once whichever worker runs the schedule, and again never after a restart.
 *
 * Software licences with seats: a licence has a number of seats; each seat is
 * held by an identity's account in a system (the account the licence is used
 * through). A seat is reclaimed — kept, with when, by whom and why — rather
 * than deleted, so the licence's history stays readable. One account holds at
 * most one seat of a licence at a time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE attestation_campaigns ADD COLUMN notified jsonb NOT NULL DEFAULT '[]'::jsonb;

    CREATE TABLE licences (
      name            text PRIMARY KEY,
      product         text NOT NULL DEFAULT '',
      manufacturer    text,
      seats           integer NOT NULL CHECK (seats >= 0),
      system          text,
      entitlement     text,
      product_key     text,
      expires_on      text CHECK (expires_on ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      notes           text NOT NULL DEFAULT ''
    );
    CREATE TABLE licence_seats (
      id              text PRIMARY KEY,
      licence         text NOT NULL REFERENCES licences(name),
      identity_key    text NOT NULL REFERENCES identities(key),
      system          text NOT NULL,
      account_id      text NOT NULL,
      assigned_at     timestamptz NOT NULL,
      assigned_by     text NOT NULL,
      reclaimed_at    timestamptz,
      reclaimed_by    text,
      reclaim_reason  text
    );
    CREATE UNIQUE INDEX licence_seats_held ON licence_seats (licence, system, account_id) WHERE reclaimed_at IS NULL;
    CREATE INDEX licence_seats_account ON licence_seats (system, account_id) WHERE reclaimed_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE licence_seats;
    DROP TABLE licences;
    ALTER TABLE attestation_campaigns DROP COLUMN notified;
  `.execute(db);
}
