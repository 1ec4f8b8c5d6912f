import { sql, type Kysely } from 'kysely';

/**
 * Observed account ids and entitlement names are kept in byte order (collation
 * "C"), the order a plan reads a run's accounts and grants in: the primary key's
 * index then gives a run's rows already in that order, and the server no longer
 * sorts every system's accounts and grants for each plan (at 500,000 people,
 * 7 million accounts and 10 million grants: one or two seconds of the server's
 * CPU per system, measured, before the first row). Equality, and so every join
 * and lookup, is the same in either collation; the tables are rewritten once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE observed_accounts ALTER COLUMN account_id TYPE text COLLATE "C"`.execute(db);
  await sql`ALTER TABLE observed_grants ALTER COLUMN account_id TYPE text COLLATE "C", ALTER COLUMN entitlement TYPE text COLLATE "C"`.execute(db);
}
