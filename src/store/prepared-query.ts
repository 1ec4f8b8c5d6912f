/**
 * Statements a page runs on every request, built and compiled once and run as
 * PostgreSQL prepared statements. Measured on the identity page (PGlite, the
 * statement with its eight sections): planning took 8.8 ms against 0.5 ms of
 * execution, and building and compiling the query with Kysely 15 % of a
 * request's CPU. A prepared statement is parsed once per connection and, after
 * a few runs, planned once (PostgreSQL keeps a generic plan when it is as good
 * as the custom ones, as it is for lookups by key).
 *
 * How it reaches the driver: the compiled SQL starts with a comment naming the
 * statement, and the store's pool (`withPreparedStatements`) runs such text as
 * a named statement of `pg`, which parses it once per connection. Without that
 * pool the comment is only a comment and the statement runs as any other.
 *
 * A prepared statement names its columns: PostgreSQL refuses to run one whose
 * result columns a migration has changed since (`select *` would pick up a new
 * column), whereas a changed plan is simply made again.
 */
import { createHash } from 'node:crypto';
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import { CopyRows } from './copy-read.ts';
import type { Database } from './database.ts';

const MARK = '/* jml:prepared ';

type Params = Record<string, unknown>;

/** What a prepared query is built from: a stand-in for each parameter, used where the value goes. */
export type ParamStandIns<P extends Params> = { readonly [K in keyof P]: P[K] };

export interface PreparedQuery<P extends Params, R> {
  /** Runs the statement with these parameter values (on `db` or a transaction). */
  execute(db: Kysely<Database>, params: P): Promise<R[]>;
}

/**
 * Declares a prepared query. `build` is called once, with stand-ins in place
 * of the parameters; they must only be used as values (`where('key', '=', p.key)`,
 * `any(${p.systems})`), never to decide the query's shape.
 * @example
 * const byKey = preparedQuery('identity-by-key', (db, p: ParamStandIns<{ key: string }>) =>
 *   db.selectFrom('identities').select(['key', 'status']).where('key', '=', p.key));
 * const [row] = await byKey.execute(db, { key: 'E1' });
 */
export function preparedQuery<P extends Params, R>(name: string, build: (db: Kysely<Database>, params: ParamStandIns<P>) => Compilable<R>): PreparedQuery<P, R> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`prepared query name "${name}": lower-case letters, digits and -`);
  let compiled: { readonly query: CompiledQuery<R>; readonly slots: readonly (string | null)[] } | null = null;

  function compile(db: Kysely<Database>) {
    const standIns = new Map<unknown, string>();
    const params = new Proxy({} as ParamStandIns<P>, {
      get(_target, key) {
        if (typeof key !== 'string') return undefined;
        // A unique object per parameter: found again by identity among the compiled values.
        const standIn = [...standIns].find(([, k]) => k === key)?.[0] ?? Object.freeze({ parameter: key });
        standIns.set(standIn, key);
        return standIn;
      },
    });
    const query = build(db, params).compile();
    const slots = query.parameters.map((value) => standIns.get(value) ?? null);
    const missing = [...standIns.values()].filter((key) => !slots.includes(key));
    if (missing.length > 0) throw new Error(`prepared query ${name}: parameters ${missing.join(', ')} were not used as values`);
    const digest = createHash('sha256').update(query.sql).digest('hex').slice(0, 12);
    return { query: { ...query, sql: `${MARK}${name.replaceAll('-', '_')}_${digest} */ ${query.sql}` }, slots };
  }

  return {
    async execute(db, params) {
      compiled ??= compile(db);
      const { query, slots } = compiled;
      const parameters = query.parameters.map((value, i) => (slots[i] === null ? value : params[slots[i]!]));
      const result: QueryResult<R> = await db.executeQuery({ ...query, parameters });
      return result.rows;
    },
  };
}

/**
 * Runs `COPY … TO STDOUT` on `client` (the simple query protocol: COPY takes no parameters), each row to
 * `rows`; answers as Kysely expects a statement's result. A row's callback that throws fails the statement
 * once the server has finished it (the rows left are dropped), so the connection is left ready for the next.
 */
function copyOut(client: PoolClientLike, text: string, rows: CopyRows): Promise<{ command: string; rowCount: number; rows: never[] }> {
  return new Promise((resolve, reject) => {
    let failed: unknown = null;
    let count = 0;
    client.query({
      submit(connection: { query(text: string): void }) {
        connection.query(text);
      },
      handleCopyData(message: { chunk: Uint8Array }) {
        if (failed !== null) return;
        try {
          rows.row(message.chunk);
          count += 1;
        } catch (error) {
          failed = error;
        }
      },
      // pg hands the connection to the next statement once it has reported an error: no ReadyForQuery follows here.
      handleError(error: Error) {
        reject(error);
      },
      handleReadyForQuery() {
        if (failed !== null) reject(failed);
        else resolve({ command: 'COPY', rowCount: count, rows: [] });
      },
      handleRowDescription() {},
      handleDataRow() {},
      handleCommandComplete() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
    });
  });
}

/** The statement name in a prepared query's SQL, or null for any other text. */
export function preparedName(text: string): string | null {
  if (!text.startsWith(MARK)) return null;
  const end = text.indexOf(' */', MARK.length);
  return end > 0 ? text.slice(MARK.length, end) : null;
}

interface PoolClientLike {
  query(...args: unknown[]): unknown;
  release(error?: Error | boolean): void;
}

interface PoolLike<C extends PoolClientLike> {
  connect(): Promise<C>;
  end(): Promise<void>;
}

/**
 * The pool Kysely is given: as `pool`, except that a prepared query's text is
 * run as a named statement (parsed once per connection, by `pg`), a statement
 * sent with a `CopyRows` as its one value is run as a COPY whose rows go to it
 * (src/store/copy-read.ts), and every other statement Kysely sends is asked of
 * `pg` in its callback form.
 *
 * Why the callback form: an answer `pg` gave through its promise form stayed
 * reachable past the next young-generation collection, so the rows of nearly
 * every read were copied into the old generation and freed only by a full
 * collection. Measured: 200 reads of 2,000 rows grew the old generation by
 * 8–55 MB (PostgreSQL and PGlite) against under 0.5 MB in the callback form;
 * `jml plan` used ~10 % less CPU and ~20 % less memory at 100,000 people, and
 * ~20 % less CPU and ~15 % less memory at 500,000; the API bench at 500
 * requests/s promoted 6–8 MB per young collection, with GC pauses up to 50 ms,
 * against ~0.1 MB and 10–20 ms in most runs of the callback form. What kept the
 * answers alive was not traced (a heap snapshot, which runs a full collection
 * first, finds none of them); the test "the rows of a read are garbage once
 * dropped" guards the result.
 */
export function withPreparedStatements<C extends PoolClientLike>(pool: PoolLike<C>): PoolLike<C> {
  const wrapped = new WeakMap<C, C>();
  const wrap = (client: C): C => {
    const query = (...args: unknown[]) => {
      const [text, values] = args;
      const name = typeof text === 'string' ? preparedName(text) : null;
      // Anything but Kysely's (text, values), such as a cursor object, goes to pg as it came.
      if (typeof text !== 'string' || args.length > 2) return client.query(...args);
      if (Array.isArray(values) && values.length === 1 && values[0] instanceof CopyRows) return copyOut(client, text, values[0]);
      const config = name === null ? { text, values } : { name, text, values };
      return new Promise((resolve, reject) => client.query(config, (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result))));
    };
    return new Proxy(client, { get: (target, key, receiver) => (key === 'query' ? query : Reflect.get(target, key, receiver)) });
  };
  return {
    async connect() {
      const client = await pool.connect();
      let proxy = wrapped.get(client);
      if (!proxy) {
        proxy = wrap(client);
        wrapped.set(client, proxy);
      }
      return proxy;
    },
    end: () => pool.end(),
  };
}
