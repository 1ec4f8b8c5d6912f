/**
 * What has been committed in the database, as a string that changes whenever
 * any transaction ends: PostgreSQL's current snapshot (the oldest transaction
 * still running, the next after the last one completed, and those in between
 * still running). Two equal readings mean no transaction committed between
 * them, anywhere on the server, so anything counted in between is still exact.
 * It reads no table: a few microseconds against a count's milliseconds.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './database.ts';

/**
 * The current change mark of the database behind `db`.
 * @example const before = await readChangeMark(db); ...; (await readChangeMark(db)) === before
 */
export async function readChangeMark(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ mark: string }>`select pg_current_snapshot()::text as mark`.execute(db);
  return rows[0]!.mark;
}
