import { sql, type Kysely } from 'kysely';

/**
 * An asynchronous SCIM Bulk survives the process that accepted it: the
 * request is kept with its batch, each operation's outcome is written in the
 * transaction of the push that applied it (results, by position), and the
 * process running it holds a lease that it renews with every push. When the
 * lease lapses (the process died), the next `jml serve` or `jml worker` takes
 * the batch over and runs the operations that have no outcome yet.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE scim_batches
      ADD COLUMN request      jsonb,
      ADD COLUMN trigger      text,
      ADD COLUMN lease_owner  text,
      ADD COLUMN lease_until  timestamptz;
    CREATE INDEX scim_batches_unfinished ON scim_batches (lease_until) WHERE status IN ('accepted', 'running');
  `.execute(db);
}
