import { sql, type Kysely } from 'kysely';

/**
 * The monthly check runs by itself: each check remembers which notices it has
 * sent (the invitation, each reminder, the escalation), so a notice is sent
 * once whichever worker runs the schedule, and again never after a restart.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE attestation_campaigns ADD COLUMN notified jsonb NOT NULL DEFAULT '[]'::jsonb;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE attestation_campaigns DROP COLUMN notified;
  `.execute(db);
}
