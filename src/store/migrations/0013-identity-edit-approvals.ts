import { sql, type Kysely } from 'kysely';

/**
 * Edits made in jml that would give an identity access wait for a second
 * person when policy says so: they are access requests of kind `edit`,
 * holding the proposed fields until the last stage approves them. A request
 * under an approval policy with `approver_outside_chain` remembers it, so
 * that no later escalation or decision lets the requester's chain in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE access_requests DROP CONSTRAINT access_requests_kind_check;
    ALTER TABLE access_requests ADD CONSTRAINT access_requests_kind_check CHECK (kind IN ('request','exception','joiner','edit'));
    -- The proposed edit (identity fields and the organisation's time zone); null for other kinds.
    ALTER TABLE access_requests ADD COLUMN edit jsonb;
    -- Four-eyes (approval policy approver_outside_chain): nobody in the requester's management chain decides,
    -- escalations and reassignments included.
    ALTER TABLE access_requests ADD COLUMN approver_outside_chain boolean NOT NULL DEFAULT false;
  `.execute(db);
}
