import { sql, type Kysely } from 'kysely';

/**
 * A leaver's changes overtake every other change in the queue: each run
 * remembers the queue priority it was submitted with, so its retries and the
 * changes queued behind it keep that priority. `acted_at` is when the
 * connector call that made a change true returned (before its read-back),
 * for the leaver's latency breakdown.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE change_runs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
    ALTER TABLE plan_changes ADD COLUMN acted_at timestamptz;
  `.execute(db);
}
