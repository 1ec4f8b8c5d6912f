/**
 * How the people list reads its rows. The most asked page (everyone, by key,
 * no filter: what the console opens on for admin, security and HR, and pages
 * through) is a prepared statement, planned by PostgreSQL once per connection
 * instead of on every page (see prepared-query.ts); any other filter, sort or
 * scope is built per request in people-routes.ts and read through
 * `readPersonRows` here, so every page reads its rows the same way.
 *
 * A row needs only the attributes its summary shows. A PostgreSQL server sends
 * those one by one (`attributes->>'email'`…): measured with 100,000 identities
 * (pages of 51), its backend spent 110–127 µs a page that way against 157–203
 * µs for whole documents, and this process 136–150 µs against 205–366 µs (pg
 * parses each document as JSON). PGlite is the other way round, 790–900 µs
 * against 600–875 µs of this process for the page (its `->>` runs in
 * WebAssembly): it sends the whole document.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database } from '../store/database.ts';
import { preparedQuery, type ParamStandIns } from '../store/prepared-query.ts';

/** The attributes a row of the list shows or makes its display name from (see `displayName`). */
const SHOWN_ATTRIBUTES = ['display_name', 'first_name', 'last_name', 'email', 'department', 'title', 'manager'] as const;

/** A row of the list: the identity's columns and its attributes (on PostgreSQL only those shown). */
export interface PersonRow {
  readonly key: string;
  readonly kind: string;
  readonly status: string;
  readonly attributes: Record<string, string | null>;
  readonly start_date: string | null;
  readonly end_date: string | null;
}

/** The identity's own columns of a row, named (a prepared statement never selects `*`). */
const OWN_COLUMNS = ['key', 'kind', 'status', 'start_date', 'end_date'] as const;

type ShownColumns = { readonly [A in (typeof SHOWN_ATTRIBUTES)[number]]: string | null };

/** Each shown attribute as a column of its name, beside the identity's own columns. */
function selectShown<O>(q: SelectQueryBuilder<Database, 'identities', O>) {
  return q.select(OWN_COLUMNS).select(SHOWN_ATTRIBUTES.map((a) => sql<string | null>`attributes->>${sql.lit(a)}`.as(a)));
}

/** The whole attributes document beside the identity's own columns. */
function selectWhole<O>(q: SelectQueryBuilder<Database, 'identities', O>) {
  return q.select(OWN_COLUMNS).select('attributes');
}

/** A row read with `selectShown` as a PersonRow: its shown attributes back in `attributes`. */
function fromShown<R extends Omit<PersonRow, 'attributes'> & ShownColumns>(row: R): Omit<R, keyof ShownColumns> & PersonRow {
  const { display_name, first_name, last_name, email, department, title, manager, ...own } = row;
  return { ...own, attributes: { display_name, first_name, last_name, email, department, title, manager } };
}

/** Whether rows from this backend carry only the shown attributes (see the top of this file). */
function readsShownAttributes(backend: string): boolean {
  return backend === 'postgres';
}

const wholeFirst = preparedQuery('people-first-page', (db: Kysely<Database>, p: ParamStandIns<{ limit: number }>) => selectWhole(db.selectFrom('identities')).orderBy('key').limit(p.limit));
const wholeAfter = preparedQuery('people-page-after', (db: Kysely<Database>, p: ParamStandIns<{ after: string; limit: number }>) =>
  selectWhole(db.selectFrom('identities')).where('key', '>', p.after).orderBy('key').limit(p.limit),
);
const shownFirst = preparedQuery('people-first-page-shown', (db: Kysely<Database>, p: ParamStandIns<{ limit: number }>) => selectShown(db.selectFrom('identities')).orderBy('key').limit(p.limit));
const shownAfter = preparedQuery('people-page-after-shown', (db: Kysely<Database>, p: ParamStandIns<{ after: string; limit: number }>) =>
  selectShown(db.selectFrom('identities')).where('key', '>', p.after).orderBy('key').limit(p.limit),
);

/**
 * Up to `limit` identities by key, after the key `after` (null: from the first).
 * @example await readPeopleByKey(db, 'postgres', 'E1002', 51)
 */
export async function readPeopleByKey(db: Kysely<Database>, backend: string, after: string | null, limit: number): Promise<PersonRow[]> {
  if (readsShownAttributes(backend)) {
    const rows = after === null ? await shownFirst.execute(db, { limit }) : await shownAfter.execute(db, { after, limit });
    return rows.map(fromShown);
  }
  return after === null ? wholeFirst.execute(db, { limit }) : wholeAfter.execute(db, { after, limit });
}

/**
 * The rows of a list query built per request (its filters, order and limit
 * set), with whatever it already selects (a sort key) beside them.
 * @example await readPersonRows(db.selectFrom('identities').where('status', '=', 'active').orderBy('key').limit(51), 'postgres')
 */
export async function readPersonRows<O>(q: SelectQueryBuilder<Database, 'identities', O>, backend: string): Promise<(O & PersonRow)[]> {
  if (readsShownAttributes(backend)) return (await selectShown(q).execute()).map((row) => fromShown(row) as O & PersonRow);
  return (await selectWhole(q).execute()) as (O & PersonRow)[];
}
