/**
 * Large writes as one statement per chunk: the rows travel as a single JSONB
 * parameter and `jsonb_to_recordset` turns them back into rows. Works the same
 * on PGlite and PostgreSQL (COPY FROM STDIN would crash PGlite's bridge), and
 * avoids the 65,535-parameter limit of multi-row VALUES.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './database.ts';

/** Column name → SQL type as it appears in the record definition (`text`, `jsonb`, `date`, `boolean`…). */
export type ColumnTypes = Readonly<Record<string, string>>;

export interface BulkWriteOptions {
  /** `ON CONFLICT (…) DO UPDATE SET` these columns from the incoming row. */
  readonly upsert?: { readonly conflict: readonly string[]; readonly update: readonly string[] };
  readonly chunkSize?: number;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

export async function bulkInsert(
  db: Kysely<Database>,
  table: keyof Database,
  columns: ColumnTypes,
  rows: readonly Readonly<Record<string, unknown>>[],
  options: BulkWriteOptions = {},
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
  const size = options.chunkSize ?? 5000;
  for (let i = 0; i < rows.length; i += size) {
    const chunk = JSON.stringify(rows.slice(i, i + size));
    await sql`INSERT INTO ${sql.table(table)} (${columnList}) SELECT ${columnList} FROM jsonb_to_recordset(${chunk}::jsonb) AS x(${definition})${conflict}`.execute(db);
  }
}
