/**
 * A list or search of a source's Users: filtered, counted, sorted and paged by
 * the database (scim-filter-sql.ts) whenever the filter and sort translate
 * exactly; otherwise the rows the translatable part admits, for the caller to
 * finish in memory with matchesScimFilter and sortResources.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';
import { indexedEquality, type AttributePath, type ScimFilter } from './scim-filter.ts';
import { filterCondition, sortKey, type TranslationOptions } from './scim-filter-sql.ts';
import { listScimUsers, storedUserOf, type StoredUser } from './scim-resource-store.ts';

type Db = Kysely<Database>;

export interface UserQuery {
  readonly filter: ScimFilter | null;
  readonly sortBy: AttributePath | null;
  readonly descending: boolean;
  /** 1-based, as SCIM counts. */
  readonly startIndex: number;
  readonly count: number;
}

/**
 * `page`: the answer, totalResults included. `candidates`: every present User
 * the filter may match, in id order, for the caller to filter, sort and page.
 */
export type UserQueryResult =
  | { readonly kind: 'page'; readonly total: number; readonly users: readonly StoredUser[] }
  | { readonly kind: 'candidates'; readonly users: readonly StoredUser[] };

/**
 * Runs a list query for the source's present Users.
 * @example await findScimUsers(db, 'entra', { filter: parseScimFilter('title co "eng"'), sortBy: null, descending: false, startIndex: 1, count: 100 })
 */
export async function findScimUsers(db: Db, source: string, q: UserQuery, options: TranslationOptions = {}): Promise<UserQueryResult> {
  const equality = q.filter && q.sortBy === null ? indexedEquality(q.filter) : null;
  // The lookups clients make before each create, by the userName and externalId indexes.
  if (equality) {
    const users = await listScimUsers(db, source, equality);
    return { kind: 'page', total: users.length, users: users.slice(q.startIndex - 1, q.startIndex - 1 + q.count) };
  }
  const condition = q.filter ? filterCondition(q.filter, options) : { where: null, exact: true };
  const key = q.sortBy ? sortKey(q.sortBy, options) : null;
  const base = () => {
    let query = db.selectFrom('scim_resources').where('source', '=', source).where('present', '=', true);
    if (condition.where) query = query.where(condition.where);
    return query;
  };
  if (!condition.exact || (q.sortBy !== null && key === null)) {
    const rows = await base().selectAll().orderBy('id').execute();
    return { kind: 'candidates', users: rows.map(storedUserOf) };
  }
  const total = await base().select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  let page = base().selectAll();
  // sortResources: users without the attribute last in either order, ties in id order.
  if (key) page = page.orderBy(sql`${key} IS NULL`).orderBy(sql`${key} COLLATE "C"`, q.descending ? 'desc' : 'asc');
  const rows = await page.orderBy('id').offset(q.startIndex - 1).limit(q.count).execute();
  return { kind: 'page', total: total.n, users: rows.map(storedUserOf) };
}
