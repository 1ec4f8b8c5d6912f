/**
 * How the people list reads its rows. A page of everyone by key, with or
 * without filters on status, kind, department and manager (what the console
 * opens on for admin, security and HR, pages through and filters) is a prepared
 * statement, one per combination of filters, planned by PostgreSQL once per
 * connection instead of on every page (see prepared-query.ts); a search, the
 * order by name or a caller's own scope is built per request in people-routes.ts
 * and read through `readPersonRows` here, so every page reads its rows the same
 * way. Measured with 100,000 people, one in eight in the department asked for
 * (pgbench): the department's page cost PostgreSQL 0.364 ms built per request
 * and 0.257 ms prepared.
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
import { preparedQuery, type ParamStandIns, type PreparedQuery } from '../store/prepared-query.ts';

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

const FILTERS = ['status', 'kind', 'department', 'manager'] as const;
type Filter = (typeof FILTERS)[number];

/** The filters a page of the list may have without a search: each an exact match, case included. */
export type PeopleFilters = { readonly [F in Filter]?: string | undefined };

/**
 * `q` narrowed to the identities matching `filters` (an absent or empty filter matches everyone).
 * @example whereFiltered(db.selectFrom('identities'), { department: 'Engineering' })
 */
export function whereFiltered<O>(q: SelectQueryBuilder<Database, 'identities', O>, filters: PeopleFilters): SelectQueryBuilder<Database, 'identities', O> {
  if (filters.status) q = q.where('status', '=', filters.status);
  if (filters.kind) q = q.where('kind', '=', filters.kind);
  if (filters.department) q = q.where(sql`attributes->>'department'`, '=', filters.department);
  if (filters.manager) q = q.where(sql`attributes->>'manager'`, '=', filters.manager);
  return q;
}

type PageParams = Readonly<Record<Filter, string>> & { readonly after: string; readonly limit: number };

/** A page's prepared statement by its shape: the filters it has, whether it starts after a key, which columns it reads. */
const pages = new Map<string, PreparedQuery<PageParams, PersonRow | (Omit<PersonRow, 'attributes'> & ShownColumns)>>();

function pageQuery(filters: readonly Filter[], after: boolean, shown: boolean) {
  const name = `people-page-${filters.length > 0 ? filters.join('-') : 'all'}${after ? '-after' : ''}${shown ? '-shown' : ''}`;
  let query = pages.get(name);
  if (!query) {
    query = preparedQuery(name, (db: Kysely<Database>, p: ParamStandIns<PageParams>) => {
      let q = whereFiltered(db.selectFrom('identities'), Object.fromEntries(filters.map((f) => [f, p[f]])));
      if (after) q = q.where('key', '>', p.after);
      return shown ? selectShown(q).orderBy('key').limit(p.limit) : selectWhole(q).orderBy('key').limit(p.limit);
    });
    pages.set(name, query);
  }
  return query;
}

/**
 * Up to `limit` identities matching `filters`, by key, after the key `after` (null: from the first).
 * @example await readPeopleByKey(db, 'postgres', { department: 'Engineering' }, 'E1002', 51)
 */
export async function readPeopleByKey(db: Kysely<Database>, backend: string, filters: PeopleFilters, after: string | null, limit: number): Promise<PersonRow[]> {
  const present = FILTERS.filter((f) => filters[f]);
  const shown = readsShownAttributes(backend);
  // The statement reads only the filters it was made with.
  const rows = await pageQuery(present, after !== null, shown).execute(db, { ...filters, after: after ?? '', limit } as PageParams);
  return shown ? (rows as (Omit<PersonRow, 'attributes'> & ShownColumns)[]).map(fromShown) : (rows as PersonRow[]);
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
