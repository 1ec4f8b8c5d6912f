/**
 * Reading a large result as `COPY (query) TO STDOUT` text: one message per row,
 * decoded once and split on tabs, instead of the driver's row protocol, which
 * decodes each field apart and builds an object per row. Measured on one system
 * of the 500,000-people plan (PostgreSQL, the same rows, nothing built from them):
 * 494,879 accounts read with 0.71-0.72 s of client CPU against 1.41-1.56 s
 * through cursor pages, 823,174 grants with 0.60-0.82 s against 1.15-1.23 s.
 * Building the whole snapshot (20 systems) took as much of jml's CPU as before,
 * and ~25 % less of the server's: the fields are slices of their line, which
 * the accounts built from them keep, and comparing slices is slower.
 *
 * How it reaches the driver: the statement is sent with one value, a `CopyRows`
 * holding the callback, and the store's pool (`withPreparedStatements`) runs
 * such a statement as a COPY on the same connection, so it reads inside the
 * caller's transaction. COPY takes no parameters: the query's values (strings,
 * numbers, booleans) are written into its text as SQL literals.
 *
 * Works on both backends. On PGlite the whole result of one COPY crosses at once,
 * as any statement's does there (its bridge answers a statement whole).
 *
 * A field of 13 characters or more is a view on its row's line (V8's substrings), unless it
 * was unescaped: a caller that keeps it keeps the line alive unless it keeps `detached(field)`.
 */
import { sql, type Compilable, type Kysely } from 'kysely';
import type { Database } from './database.ts';

type Db = Kysely<Database>;

/** A row of COPY text: each column's text, or null for SQL NULL. */
export type CopiedRow = readonly (string | null)[];

/** What the store's pool recognises as a COPY to run: the callback each row goes to. */
export class CopyRows {
  readonly each: (row: CopiedRow) => void;
  constructor(each: (row: CopiedRow) => void) {
    this.each = each;
  }

  /**
   * One CopyData message as the row's columns. PostgreSQL (and PGlite, the same server) sends a COPY TO
   * STDOUT one row per message, its newline last; a newline inside a value travels escaped (`\n`).
   */
  row(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const line = bytes.toString('utf8', 0, bytes.length - 1);
    // Only a field holding a backslash is unescaped (a NULL, `\N`, is one): the line is searched for them
    // as it is cut, not each field apart (most of a snapshot's lines hold a NULL or two).
    let backslash = line.indexOf('\\');
    // Cut at each tab by hand: measured ~25 % cheaper than `split`, which is a runtime call per line.
    const fields: (string | null)[] = [];
    for (let from = 0; ; ) {
      const tab = line.indexOf('\t', from);
      const end = tab < 0 ? line.length : tab;
      if (backslash >= 0 && backslash < end) {
        fields.push(unescapeField(line.slice(from, end)));
        backslash = line.indexOf('\\', end);
      } else fields.push(line.slice(from, end));
      if (tab < 0) break;
      from = tab + 1;
    }
    this.each(fields);
  }
}

/**
 * A field as a string of its own. V8 makes a substring of 13 characters or more a view on its parent,
 * here the row's whole line, which a kept value (an identity's key) would keep alive as long as itself
 * (measured: 20,000 keys sliced from 10 kB lines held 196 MiB, copied 5 MiB). Joined to one character
 * and cut again, the copy is a view on that short joined string alone.
 */
export function detached(field: string | null): string | null {
  return field === null || field.length < 13 ? field : (' ' + field).slice(1);
}

const ESCAPED: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A field of COPY's text format: `\N` is NULL; `\\`, `\t`, `\n`… stand for the character (COPY TO writes no octal or hex escapes). */
export function unescapeField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gs, (_, c: string) => ESCAPED[c] ?? c);
}

/**
 * Calls `each` with every row of `query`, in its order, as COPY text columns (in
 * the order the query selects them), in `db`'s transaction or in one of its own.
 * `settings` are set for the COPY alone, after FAST_START (a query that needs a
 * join of one kind says so here).
 * @example
 * await forEachCopiedRow(db, db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', id),
 *   ([accountId, entitlement]) => builder.add(accountId!, entitlement!));
 */
export async function forEachCopiedRow(db: Db, query: Compilable<unknown>, each: (row: CopiedRow) => void, settings: Readonly<Record<string, string>> = {}): Promise<void> {
  if (!db.isTransaction) return db.transaction().execute((trx) => forEachCopiedRow(trx, query, each, settings));
  // One COPY at a time per transaction: two readers sharing one (a review's removals read two systems side by
  // side) would otherwise save, set and put back each other's settings, and leave them set for the rest of it.
  const turn = (copying.get(db) ?? Promise.resolve()).catch(() => undefined).then(() => copyInTurn(db, query, each, { ...FAST_START, ...settings }));
  copying.set(db, turn);
  return turn;
}

const copying = new WeakMap<Db, Promise<void>>();

async function copyInTurn(db: Db, query: Compilable<unknown>, each: (row: CopiedRow) => void, settings: Readonly<Record<string, string>>): Promise<void> {
  const compiled = query.compile();
  const text = `COPY (${withLiterals(compiled.sql, compiled.parameters)}) TO STDOUT`;
  const current = sql.join(Object.keys(settings).map((name) => sql`current_setting(${name})`));
  const { rows } = await sql<{ previous: string[] }>`SELECT ARRAY[${current}] AS previous`.execute(db);
  const previous = Object.fromEntries(Object.keys(settings).map((name, i) => [name, rows[0]!.previous[i]!]));
  await setLocal(db, settings);
  try {
    await db.executeQuery({ ...compiled, sql: text, parameters: [new CopyRows(each)] });
  } catch (error) {
    // A callback that threw leaves the transaction usable: its settings are put back. After a failed
    // statement the transaction is aborted and refuses this too; the COPY's error is the one to tell.
    await setLocal(db, previous).catch(() => undefined);
    throw error;
  }
  await setLocal(db, previous);
}

/**
 * The plan a cursor would get. A cursor's query is planned to return its first rows soon
 * (`cursor_tuple_fraction`): an ordered read walks the index in order. A COPY's is planned
 * for its total cost, and reading a system's accounts in order became a parallel scan of
 * the table and a sort on the server (measured at 500,000 people: the server's CPU for a plan
 * 28-31 s became 37-46 s, and no row came until the sort was done). For the COPY alone.
 */
export const FAST_START: Readonly<Record<string, string>> = { enable_seqscan: 'off', enable_sort: 'off', max_parallel_workers_per_gather: '0', jit: 'off' };

async function setLocal(db: Db, settings: Readonly<Record<string, string>>): Promise<void> {
  await sql`SELECT ${sql.join(Object.entries(settings).map(([name, value]) => sql`set_config(${name}, ${value}, true)`))}`.execute(db);
}

/** The statement with each `$n` replaced by its value as an SQL literal. */
export function withLiterals(text: string, parameters: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => literal(parameters[Number(n) - 1], n));
}

function literal(value: unknown, n: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // An escape string: its meaning does not depend on the session's standard_conforming_strings.
  if (typeof value === 'string' && !value.includes('\u0000')) return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  throw new Error(`forEachCopiedRow: parameter $${n} is ${value === null ? 'null' : typeof value}: only strings, finite numbers and booleans are written into a COPY`);
}
