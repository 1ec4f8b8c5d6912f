import { sql, type Kysely } from 'kysely';

/**
 * Every push to a source that maps a manager asks which of its Users wait for
 * a manager reference that named nobody (src/app/inbound/scim-push-targets.ts).
 * Few ever do; without this index the question reads every record of the
 * source, once per push of 50.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX source_records_manager_unresolved ON source_records (source) WHERE (data->>'manager_unresolved') IS NOT NULL`.execute(db);
}
