import { sql, type Kysely } from 'kysely';

/**
 * Indexes the identity page reads by: changes, tasks and sponsorships of one
 * identity. Without them each page view scans those tables (measured: p99 of
 * seconds at 100k identities).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX plan_changes_identity ON plan_changes (identity_key, updated_at);
    CREATE INDEX tasks_identity ON tasks (identity_key, created_at);
    CREATE INDEX identities_sponsor ON identities (sponsor) WHERE sponsor IS NOT NULL;
  `.execute(db);
}
