/**
 * pg-boss over the store's own Kysely handle: the same pg.Pool as every other
 * query, so on PGlite it shares the single connection instead of opening a
 * second path into the database. pg-boss takes the connection per statement
 * and never across a handler, so a handler's own queries cannot deadlock it.
 */
import { PgBoss, fromKysely, type Db } from 'pg-boss';
import { sql, type Kysely } from 'kysely';
import type { Backend } from '../store/open-store.ts';
import type { Database } from '../store/database.ts';
import type { NotificationListen } from '../store/notification-listener.ts';
import { AUDIT_STREAM_EXPIRE_SECONDS, QUEUE } from './job-queues.ts';

export interface JobBossOptions {
  /** Seconds an apply job may stay active before pg-boss hands it to another worker. Also the change lease. */
  readonly applyExpireSeconds?: number;
  /** How often pg-boss looks for expired jobs and due cron entries. */
  readonly superviseIntervalSeconds?: number;
  /** Whether this process runs cron schedules (API-only processes need not). */
  readonly schedule?: boolean;
  /** Whether this process runs pg-boss maintenance (expiry, retention); a process that only sends need not. */
  readonly supervise?: boolean;
  /**
   * Notification deliveries: attempts after the first, and the first wait in seconds (doubling, with
   * jitter, up to an hour). Set when the queues are created; default 6 retries from 30 s.
   */
  readonly notifyRetry?: { readonly limit: number; readonly delaySeconds: number };
  /**
   * The store's LISTEN (PostgreSQL): given by a process that works queues, so
   * a job another process sends wakes this one's workers at once instead of
   * at their next poll. Without it (PGlite, send-only processes) workers poll.
   */
  readonly listen?: NotificationListen | undefined;
}

/** What the job code needs to enqueue: pg-boss's send/insert, optionally inside a caller's transaction. */
export type JobSender = Pick<PgBoss, 'send' | 'insert'>;

/** A pg-boss `db` option that runs on a Kysely transaction, so a send commits with the caller's writes. */
export function inTransaction(trx: Kysely<Database>): { db: Db } {
  return { db: fromKysely(trx) };
}

/** Seconds before an active apply job is given to another worker, unless a worker is told otherwise. */
export const DEFAULT_APPLY_EXPIRE_SECONDS = 120;

/**
 * Starts pg-boss on the store and creates jml's queues (idempotent; safe for
 * several processes at once).
 * @example
 * const boss = await startJobBoss(store.db, store.backend);
 * await boss.send('apply-sweep', {});
 */
export async function startJobBoss(db: Kysely<Database>, backend: Backend, options: JobBossOptions = {}): Promise<PgBoss> {
  // CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when the schema exists; a
  // least-privilege role (src/store/postgres-roles.ts) is given the schema instead of that right.
  const schemaExists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'pgboss'`.execute(db);
  // On PostgreSQL every queue sends a NOTIFY with each runnable job it is given (in the sender's
  // transaction, so it arrives on commit), whichever process sends; PGlite has no other process to tell.
  const notify = backend === 'postgres';
  const boss = new PgBoss({
    db: { ...poolAdapter(db), ...(options.listen ? { listen: options.listen } : {}) },
    useListenNotify: options.listen !== undefined,
    createSchema: schemaExists.rows[0]?.n !== 1,
    backend: backend === 'pglite' ? 'pglite' : 'postgres',
    schedule: options.schedule ?? true,
    supervise: options.supervise ?? true,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 10,
    // Expired jobs (a worker killed mid-job) are found on the monitor pass; keep it as frequent.
    monitorIntervalSeconds: options.superviseIntervalSeconds ?? 10,
    // Cron is checked every 30 s by default; jml's schedules are minute-grained.
    cronWorkerIntervalSeconds: 15,
  });
  // pg-boss reports background errors as events; an unhandled 'error' event would end the process.
  boss.on('error', (error) => process.stderr.write(`jml jobs: ${(error as Error).message}\n`));
  await boss.start();
  const applyExpire = options.applyExpireSeconds ?? DEFAULT_APPLY_EXPIRE_SECONDS;
  await createQueue(boss, QUEUE.applyChange, {
    notify,
    expireInSeconds: applyExpire,
    // These retries cover crashed or expired workers only, at a fixed short delay: connector failures
    // are rescheduled by jml itself, with the one backoff rule (domain/retry-backoff.ts).
    retryLimit: 20,
    retryDelay: 1,
    retryBackoff: false,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
  const notifyRetry = options.notifyRetry ?? { limit: 6, delaySeconds: 30 };
  const notification = { expireInSeconds: 120, retryLimit: notifyRetry.limit, retryDelay: notifyRetry.delaySeconds, retryBackoff: true, retryDelayMax: 3600, deadLetter: QUEUE.notifyDead };
  // The dead-letter queue first: a queue can only name one that exists.
  await createQueue(boss, QUEUE.notifyDead, { notify, retryLimit: 0, deleteAfterSeconds: 30 * 24 * 3600 });
  // One slice of a SIEM stream at a time per stream (singletonKey = its name), with one more queued:
  // two workers never send the same stream, and a killed worker's slice expires and is taken over.
  await createQueue(boss, QUEUE.auditStream, { notify, policy: 'stately', expireInSeconds: AUDIT_STREAM_EXPIRE_SECONDS, retryLimit: 3, retryDelay: 5, retryBackoff: false });
  for (const name of Object.values(QUEUE)) {
    if (name === QUEUE.applyChange || name === QUEUE.notifyDead || name === QUEUE.auditStream) continue;
    const isNotification = name === QUEUE.notifyEmail || name === QUEUE.notifyWebhook;
    await createQueue(boss, name, isNotification ? { notify, ...notification } : { notify, expireInSeconds: 900, retryLimit: 3, retryDelay: 30, retryBackoff: false });
  }
  // pg-boss looks a queue up on its own handle the first time it is used. Inside a caller's
  // transaction on PGlite that handle waits for the one connection the transaction holds:
  // warm the lookup now, outside any transaction.
  for (const name of Object.values(QUEUE)) await boss.insert(name, []);
  return boss;
}

/**
 * pg-boss's adapter over the root handle. Some pg-boss statements are scripts
 * with their own BEGIN/COMMIT; one that fails midway (two processes creating
 * the same queue at boot) would leave its pooled connection inside an aborted
 * transaction for the next query to trip on. Each statement therefore runs on
 * a connection of its own and a failure is rolled back before it goes back.
 */
function poolAdapter(db: Kysely<Database>): Db {
  return {
    executeSql: (text, values) =>
      db.connection().execute(async (connection) => {
        try {
          return await fromKysely(connection).executeSql(text, values);
        } catch (error) {
          await sql`ROLLBACK`.execute(connection).catch(() => undefined);
          throw error;
        }
      }),
  };
}

async function createQueue(boss: PgBoss, name: string, options: NonNullable<Parameters<PgBoss['createQueue']>[1]> & { readonly notify: boolean }): Promise<void> {
  const existing = await boss.getQueue(name);
  // A queue made before notifications were used (or on a PGlite copy) gets the setting; nothing else of it changes.
  if (existing && Boolean(existing.notify) !== options.notify) await boss.updateQueue(name, { notify: options.notify });
  if (existing) return;
  try {
    await boss.createQueue(name, options);
  } catch (error) {
    // Another process created it between our look and our create.
    if (!(await boss.getQueue(name))) throw error;
  }
}
