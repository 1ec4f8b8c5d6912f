/**
 * Large writes as one statement per chunk: the rows travel as a single JSON
 * parameter and `json_to_recordset` turns them back into rows. Works the same
 * on PGlite and PostgreSQL (COPY FROM STDIN would crash PGlite's bridge), and
 * avoids the 65,535-parameter limit of multi-row VALUES.
 *
 * `json`, not `jsonb`: the chunk is read once, left to right, instead of first
 * being built into a whole jsonb document (measured faster and smaller on PGlite,
 * whose memory never shrinks once grown). Rows are mapped chunk by chunk, so a
 * caller can pass its own values and a `map` instead of building every row first.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './database.ts';

/** Column name → SQL type as it appears in the record definition (`text`, `jsonb`, `date`, `boolean`…). */
export type ColumnTypes = Readonly<Record<string, string>>;

export interface BulkWriteOptions<T = Readonly<Record<string, unknown>>> {
  /** `ON CONFLICT (…) DO UPDATE SET` these columns from the incoming row. */
  readonly upsert?: { readonly conflict: readonly string[]; readonly update: readonly string[] };
  readonly chunkSize?: number;
  /** Turns an item (and its index in `rows`) into its row, one chunk at a time (default: the item is the row). */
  readonly map?: (item: T, index: number) => Readonly<Record<string, unknown>>;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Inserts (or upserts) `rows` in chunks of `chunkSize` (default 2000), one statement per chunk. */
export async function bulkInsert<T = Readonly<Record<string, unknown>>>(
  db: Kysely<Database>,
  table: keyof Database,
  columns: ColumnTypes,
  rows: readonly T[],
  options: BulkWriteOptions<T> = {},
): Promise<void> {
  const names = Object.keys(columns);
  for (const name of [table, ...names, ...Object.values(columns)]) {
    if (!/^[a-z_][a-z0-9_ ()[\]]*$/.test(name)) throw new Error(`bulkInsert: unsafe identifier ${name}`);
  }
  const columnList = sql.raw(names.join(', '));
  const definition = sql.raw(names.map((n) => `${n} ${columns[n]}`).join(', '));
  let conflict: RawBuilder<unknown> = sql``;
  if (options.upsert) {
    for (const n of [...options.upsert.conflict, ...options.upsert.update]) if (!IDENT.test(n)) throw new Error(`bulkInsert: unsafe identifier ${n}`);
    conflict = sql.raw(
      ` ON CONFLICT (${options.upsert.conflict.join(', ')}) DO UPDATE SET ${options.upsert.update.map((n) => `${n} = excluded.${n}`).join(', ')}`,
    );
  }
  const size = options.chunkSize ?? 2000;
  const map = options.map;
  for (let i = 0; i < rows.length; i += size) {
    const slice = rows.slice(i, i + size);
    const chunk = JSON.stringify(map ? slice.map((item, j) => map(item, i + j)) : slice);
    await sql`INSERT INTO ${sql.table(table)} (${columnList}) SELECT ${columnList} FROM json_to_recordset(${chunk}::json) AS x(${definition})${conflict}`.execute(db);
  }
}
