/**
 * One way into the database for the whole process: Kysely's PostgresDialect over
 * a pg.Pool. Embedded default: PGlite behind a pg connection (pglite-connection.ts; one
 * connection, which is also the mutex that keeps transactions apart). With a
 * DATABASE_URL: a PostgreSQL server. Same migrations and queries on both.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { JmlError } from '../domain/errors.ts';
import type { Database } from './database.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { preparePrivateDataDir, tightenDataFiles } from './data-dir-permissions.ts';
import { migrateToLatest } from './migrations.ts';
import { prebuiltCluster } from './pglite-cluster.ts';
import { listenOn, type NotificationListen } from './notification-listener.ts';
import { pglitePoolConfig } from './pglite-connection.ts';
import { withPreparedStatements } from './prepared-query.ts';
import { lowerBackendPriority } from './backend-priority.ts';
import { createPriorityLane, prioritisedPool, type PriorityLane } from './priority-lane.ts';

export type Backend = 'pglite' | 'postgres';

export interface StoreOptions {
  /** PostgreSQL connection string; when absent the embedded PGlite is used. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data directory (ignored with databaseUrl). `memory://` keeps it in memory. */
  readonly dataDir?: string | undefined;
  /** Pool size for a PostgreSQL server. */
  readonly poolSize?: number;
  /** PGlite only: start from this dump (see `Store.dump`) instead of an empty cluster; tests use it to skip initdb. */
  readonly loadDataDir?: Blob;
  /**
   * PostgreSQL on this machine: run this process's server backends at this nice value
   * (a batch command's own, see backend-priority.ts); 0 or absent leaves them as they are.
   */
  readonly backendNice?: number;
  /** False opens the schema as it is (`jml migrate --dry-run`); by default every open migrates to the latest. */
  readonly migrate?: boolean;
  /** PGlite only: the process runs a few statements and ends (a read command), so its buffer cache is small (see pgliteStartParams). */
  readonly brief?: boolean;
}

export interface Store {
  readonly db: Kysely<Database>;
  readonly backend: Backend;
  /** Where the data lives, for people: a directory or a redacted URL. */
  readonly location: string;
  close(): Promise<void>;
  /** PGlite only: the whole data directory as a tarball. */
  dump?(): Promise<Blob>;
  /**
   * PostgreSQL only: LISTEN on a channel over a connection of its own, so
   * another process's NOTIFY reaches this one. Absent on PGlite, where no
   * other process can share the database.
   */
  readonly listen?: NotificationListen;
  /**
   * This process's lane for urgent work (a leaver's changes): statements
   * made as urgent work are served first on PGlite's one connection, and the
   * workers' other work gives way to it (src/store/priority-lane.ts).
   */
  readonly lane?: PriorityLane;
}

// pg parses int8 and numeric to strings by default; bigint sequence numbers fit in a double here.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
// Dates stay as calendar strings: time-zone conversion of a DATE would shift days.
pg.types.setTypeParser(1082, (v) => v);

export async function openStore(options: StoreOptions): Promise<Store> {
  const store = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.poolSize ?? 10, options.backendNice ?? 0)
    : await openPglite(options.dataDir ?? '.jml', options.loadDataDir, options.brief ?? false);
  try {
    const applied = options.migrate !== false ? await migrateToLatest(store.db) : [];
    // Tables the migrations just made are new PGlite files (0666; see data-dir-permissions.ts).
    if (applied.length > 0 && store.backend === 'pglite' && !store.location.startsWith('memory://')) tightenDataFiles(path.join(store.location, 'pgdata'));
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

async function openPostgres(databaseUrl: string, poolSize: number, backendNice: number): Promise<Store> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  pool.on('error', () => {
    // An idle client lost its connection (server restart). The pool replaces it; queries in flight see their own error.
  });
  // A checked-out client whose server goes away also emits 'error'; with no listener that ends the
  // process. The query in flight is rejected with the same error, which is how callers learn of it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    // Queued on the client ahead of the caller's first statement; a failure leaves the priority as it was.
    if (backendNice > 0) lowerBackendPriority(client, backendNice).catch(() => undefined);
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end();
    throw new JmlError('internal', `cannot connect to PostgreSQL at ${redactUrl(databaseUrl)}: ${(cause as Error).message}`, { cause });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }) });
  return { db, backend: 'postgres', location: redactUrl(databaseUrl), listen: listenOn(databaseUrl), lane: createPriorityLane(), close: () => db.destroy() };
}

/**
 * PGlite's own start parameters, with shared_buffers capped. PostgreSQL's
 * default (128 MB) lives in the WebAssembly heap, which never shrinks, on top of
 * the process's own memory; an embedded store serves one process, and the
 * operating system's page cache still holds the data files. Measured on
 * `jml identity KEY`: peak RSS 275 → 151 MiB with 16 MB; 32 MB leaves an
 * import's indexes some room (its effect on import time was not measurable on
 * the busy machine it was chosen on).
 *
 * A brief process gets 2 MB. PostgreSQL asks for its shared memory at start
 * and PGlite's C library zeroes all of it, a byte loop in WebAssembly: with
 * 32 MB of buffers a 42 MB segment, the largest single cost in a CPU profile of
 * `jml identity KEY`, which reads a few pages and ends; 2 MB makes it 9 MB
 * (measured, 3 interleaved pairs: CPU ~100 ms less, peak RSS 193 → 161 MiB).
 */
const pgliteStartParams = (defaults: readonly string[], brief: boolean): string[] => [...defaults, '-c', `shared_buffers=${brief ? '2MB' : '32MB'}`];

async function openPglite(dataDir: string, loadDataDir: Blob | undefined, brief: boolean): Promise<Store> {
  const { PGlite } = await import('@electric-sql/pglite');
  let release: (() => Promise<void>) | null = null;
  const onDisk = !dataDir.startsWith('memory://');
  const location = onDisk ? path.resolve(dataDir) : dataDir;
  const target = onDisk ? path.join(location, 'pgdata') : dataDir;
  if (onDisk) {
    preparePrivateDataDir(location, target);
    release = await lockDataDir(location);
  }
  let pglite;
  try {
    // A new cluster starts from the shipped one instead of initdb (pglite-cluster.ts).
    const fresh = !onDisk || !existsSync(path.join(target, 'PG_VERSION'));
    const start = loadDataDir ?? (fresh ? prebuiltCluster() : undefined);
    pglite = await PGlite.create(target, { ...(start ? { loadDataDir: start } : {}), startParams: pgliteStartParams(PGlite.defaultStartParams, brief) });
    if (onDisk) tightenDataFiles(target);
  } catch (cause) {
    await release?.();
    throw new JmlError('internal', `cannot open the embedded database in ${location}: ${(cause as Error).message}`, { cause });
  }
  const lane = createPriorityLane();
  const pool = prioritisedPool(new pg.Pool(pglitePoolConfig(pglite)), lane);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }) });
  return {
    db,
    backend: 'pglite',
    location,
    lane,
    dump: () => pglite.dumpDataDir('none'),
    close: async () => {
      await db.destroy();
      await pglite.close();
      if (onDisk) tightenDataFiles(target);
      await release?.();
    },
  };
}

/** Hides the password in a connection string so it can be printed or logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
