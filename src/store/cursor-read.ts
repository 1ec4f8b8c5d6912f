/**
 * Reading a large result a page at a time through a server-side cursor
 * (DECLARE … CURSOR / FETCH), on both backends. `execute()` keeps every row of
 * a result as an object until the last one arrived: for a system of 500,000
 * accounts those objects live long enough to be moved to the old generation,
 * and each full collection then marks them again. A page's rows die young.
 */
import { sql, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Database } from './database.ts';

type Db = Kysely<Database>;

/** Rows per FETCH: small enough to die young, large enough that round trips do not count. */
export const PAGE_ROWS = 20_000;

let cursors = 0;

/**
 * Calls `each` with the rows of `query`, in its order, a page at a time; the
 * next page is on its way while `each` works on the current one. Runs in `db`'s
 * transaction, or in one of its own (a cursor lives in a transaction); on PGlite's
 * one connection, other queries wait until the last page is read.
 * @example
 * await forEachPage(db, db.selectFrom('observed_grants').select(['account_id', 'entitlement']).orderBy('account_id'),
 *   (rows) => { for (const r of rows) builder.add(r.account_id, r.entitlement); });
 */
export async function forEachPage<R>(db: Db, query: Compilable<R>, each: (rows: readonly R[]) => void, pageRows = PAGE_ROWS): Promise<void> {
  if (!db.isTransaction) return db.transaction().execute((trx) => forEachPage(trx, query, each, pageRows));
  const compiled = query.compile();
  const cursor = sql.id(`jml_page_${(cursors += 1)}`);
  await db.executeQuery({ ...compiled, sql: `DECLARE ${cursor.compile(db).sql} NO SCROLL CURSOR FOR ${compiled.sql}` });
  const fetch = (): Promise<QueryResult<R>> => sql<R>`FETCH ${sql.raw(String(pageRows))} FROM ${cursor}`.execute(db);
  let pending: Promise<QueryResult<R>> | null = fetch();
  try {
    while (pending) {
      const { rows }: QueryResult<R> = await pending;
      // A short page is the last: no FETCH to learn that nothing follows.
      pending = rows.length === pageRows ? fetch() : null;
      if (rows.length > 0) each(rows);
    }
  } catch (error) {
    // The page on its way is waited for (its failure is this one's consequence); the
    // cursor itself ends with the transaction, which this error fails or rolls back.
    await Promise.allSettled([pending]);
    throw error;
  }
  await sql`CLOSE ${cursor}`.execute(db);
}
