/**
 * The people list's most asked page as prepared statements: everyone, by key,
 * no filter (what the console opens on for admin, security and HR, and pages
 * through). Built with Kysely and planned by PostgreSQL once per connection
 * instead of on every page (see prepared-query.ts). Any other filter, sort or
 * scope is built per request in people-routes.ts.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import { preparedQuery, type ParamStandIns } from '../store/prepared-query.ts';

/** The columns a row of the list is made from, named (a prepared statement never selects `*`). */
export const PERSON_ROW_COLUMNS = ['key', 'kind', 'status', 'attributes', 'start_date', 'end_date'] as const;

const firstPage = preparedQuery('people-first-page', (db: Kysely<Database>, p: ParamStandIns<{ limit: number }>) =>
  db.selectFrom('identities').select(PERSON_ROW_COLUMNS).orderBy('key').limit(p.limit),
);

const pageAfter = preparedQuery('people-page-after', (db: Kysely<Database>, p: ParamStandIns<{ after: string; limit: number }>) =>
  db.selectFrom('identities').select(PERSON_ROW_COLUMNS).where('key', '>', p.after).orderBy('key').limit(p.limit),
);

/**
 * Up to `limit` identities by key, after the key `after` (null: from the first).
 * @example await readPeopleByKey(db, 'E1002', 51)
 */
export function readPeopleByKey(db: Kysely<Database>, after: string | null, limit: number) {
  return after === null ? firstPage.execute(db, { limit }) : pageAfter.execute(db, { after, limit });
}
