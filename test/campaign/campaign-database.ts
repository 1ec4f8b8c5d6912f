/**
 * The fault campaign's databases and their restarts. PGlite: a fresh
 * in-memory database per history. PostgreSQL: a server of the campaign's own
 * (initdb into a temporary directory, 127.0.0.1, a free port), a scratch
 * database per history on it, and the server restarted under a history —
 * crashed (`pg_ctl restart -m immediate`) or shut down cleanly (`-m fast`) —
 * at a random moment of an import, a plan or an apply.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { startOwnPostgres } from '../crash/crash-harness.ts';
import { freePort } from '../peers/peer-process.ts';
import { createScratchDatabase } from '../support/scratch-database.ts';
import type { PostgresRestart } from './campaign-generator.ts';

/** A history's store; on PostgreSQL, with what worker processes and restarts need. */
export interface CampaignStore extends Store {
  /** PostgreSQL only: the database's URL, for worker processes. */
  readonly databaseUrl?: string;
  /** On the campaign's own server only: restarts it (every connection is cut) without blocking this process. */
  readonly restartServer?: (mode: PostgresRestart['mode']) => Promise<void>;
}

/** Where the histories of one campaign (or one of its child processes) keep their data. */
export interface CampaignDatabases {
  /** A fresh, migrated, empty store for one history; closing it drops its data. */
  open(): Promise<CampaignStore>;
  /** Stops what the campaign started (its PostgreSQL server). */
  close(): Promise<void>;
}

/** Opens the campaign's databases on `backend` (pglite or postgres). */
export async function campaignDatabases(backend: string): Promise<CampaignDatabases> {
  if (backend === 'pglite') {
    const template = await openStore({ dataDir: 'memory://' });
    const blob = await template.dump!();
    await template.close();
    return { open: () => openStore({ dataDir: 'memory://', loadDataDir: blob }), close: async () => undefined };
  }
  if (backend === 'postgres') {
    const server = startOwnPostgres(await freePort());
    return {
      async open() {
        const database = await createScratchDatabase(server.url, 'jml_campaign');
        const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
        return {
          ...store,
          databaseUrl: database.url,
          restartServer: (mode) => server.restartInBackground(mode),
          close: async () => {
            await store.close();
            await database.drop();
          },
        };
      },
      close: async () => server.stop(),
    };
  }
  throw new Error(`--backend must be pglite or postgres, got "${backend}"`);
}

/** Error codes of a connection the server cut, refused or lost (SQLSTATE class 08, 57P01–57P03, and the socket's own). */
const CONNECTION_LOST = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** Whether `error` (or an error it wraps) says the database connection was lost, as a server restart does. */
export function isConnectionLoss(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_LOST.has(code)) return true;
    if (/Connection terminated|terminating connection|not queryable|the database system is (starting up|shutting down|in recovery)/i.test(e.message)) return true;
  }
  return false;
}

/** A restart under way: `done` once the server accepts connections again; `phaseOver` marks the end of the phase it was meant for. */
export interface ScheduledRestart {
  readonly done: Promise<void>;
  phaseOver(): void;
}

/**
 * Restarts the store's server `restart.afterMs` from now. Counts
 * `postgres_restarted_<mode>`, and `postgres_restarted_during_<phase>` when
 * the phase was still running as the server went down (a short phase may be
 * over by then: the restart then fell between two phases).
 */
export function scheduleRestart(store: CampaignStore, restart: PostgresRestart, count: (kind: string) => void): ScheduledRestart {
  let over = false;
  const done = sleep(restart.afterMs).then(() => {
    count(`postgres_restarted_${restart.mode}`);
    if (!over) count(`postgres_restarted_during_${restart.during}`);
    return store.restartServer!(restart.mode);
  });
  // Awaited by whoever scheduled it; a failed restart must not go unnoticed in between.
  done.catch(() => undefined);
  return { done, phaseOver: () => (over = true) };
}

/**
 * Runs `fn` while the server restarts under it. A call the restart cut off is
 * made again once the server is back, as a person or the schedule would run
 * the import or plan again; any other error stands. Returns once the restart
 * is over too.
 */
export async function underRestart<T>(store: CampaignStore, restart: PostgresRestart, count: (kind: string) => void, fn: () => Promise<T>): Promise<T> {
  const restarting = scheduleRestart(store, restart, count);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isConnectionLoss(error) || attempt === 3) throw error;
        await restarting.done;
        // A pooled connection the restart cut may not have been noticed yet: give the pool a moment to drop it.
        await sleep(100);
      }
    }
  } finally {
    restarting.phaseOver();
    await restarting.done;
  }
}

/** Runs a read, again and again while the server is restarting (for polls that wait on workers across a restart). */
export async function readAcrossRestart<T>(fn: () => Promise<T>, boundMs = 60_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionLoss(error) || Date.now() > until) throw error;
      await sleep(200);
    }
  }
}
