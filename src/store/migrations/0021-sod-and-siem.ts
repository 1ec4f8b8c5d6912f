import { sql, type Kysely } from 'kysely';

/**
 * Separation of duties and SIEM streaming.
 * - An access request that would break an SoD rule may only go ahead as a
 *   mitigation: an exception naming the rule, the compensating control and who
 *   owns that control (its end date is the request's valid_to).
 * - Each SIEM stream keeps the sequence number of the last audit entry its
 *   receiver acknowledged, so a restarted worker resumes there.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE access_requests ADD COLUMN sod_rule text;
    ALTER TABLE access_requests ADD COLUMN compensating_control text;
    ALTER TABLE access_requests ADD COLUMN control_owner text;
    CREATE TABLE audit_stream_cursors (
      name        text PRIMARY KEY,
      seq         bigint NOT NULL,
      updated_at  timestamptz NOT NULL
    );
  `.execute(db);
}
