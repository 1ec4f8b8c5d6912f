import { sql, type Kysely } from 'kysely';

/**
 * An asynchronous SCIM batch that fails for a reason nobody foresaw (a bug,
 * not a refused request) is retried a bounded number of times, not forever:
 * the batch counts its failed runs and keeps the last error, which its status
 * resource shows once the batch has failed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE scim_batches
      ADD COLUMN attempts  integer NOT NULL DEFAULT 0,
      ADD COLUMN error     text;
  `.execute(db);
}
