/**
 * Ordering text by its bytes, the same on every database: a column's values
 * compared with collation "C", whatever the database's default collation
 * (a linguistic one would order `a-b`, `A_b` and `ab` by language rules, and
 * differently from one server's locale to another's). The engine's merge walks
 * and the connectors' paging expect this order from the store.
 */
import { sql } from 'kysely';

/**
 * `column` collated "C", for `orderBy` or a comparison.
 * @example db.selectFrom('observed_grants').selectAll().orderBy(byteOrder('account_id'))
 */
export const byteOrder = (column: string) => sql`${sql.ref(column)} collate "C"`;
