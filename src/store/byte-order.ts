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

/**
 * Two strings compared as "C" compares them: by the bytes of their UTF-8. A
 * JavaScript `<` compares UTF-16 code units, which puts a character past U+FFFF
 * (two surrogates, D800-DFFF) before U+E000-U+FFFF; UTF-8 puts it after.
 */
export function compareByteOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/** A code unit's place in UTF-8's order: surrogates moved past U+FFFF. */
const utf8Rank = (unit: number) => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800);
