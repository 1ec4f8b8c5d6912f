/**
 * The replan queue for processes that only send (a CLI command, an API
 * process without workers): pg-boss starts on the store the first time a
 * replan is asked for, and stops on close. Nothing waits for a worker; with
 * none running, the job waits in the queue.
 */
import type { PgBoss } from 'pg-boss';
import type { ReplanQueue } from '../app/replan-follow-up.ts';
import type { Store } from '../store/open-store.ts';
import { startJobBoss } from './job-boss.ts';
import { requestReplan } from './schedules.ts';

export interface ClosableReplanQueue extends ReplanQueue {
  /** Stops pg-boss if it was started; a no-op otherwise. */
  close(): Promise<void>;
}

/**
 * A replan queue over the store's own pool.
 * @example
 * const queue = openReplanQueue(store);
 * try { await followUpImport({ db: store.db, queue, policy }, result); } finally { await queue.close(); }
 */
export function openReplanQueue(store: Pick<Store, 'db' | 'backend'>): ClosableReplanQueue {
  let boss: Promise<PgBoss> | null = null;
  return {
    async requestReplan(identityKeys, reason) {
      boss ??= startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      await requestReplan(await boss, identityKeys, reason);
    },
    async close() {
      if (!boss) return;
      const started = await boss.catch(() => null);
      await started?.stop({ graceful: false, close: false });
    },
  };
}

/** A queue that sends to an already running pg-boss (a process that runs workers too). */
export function replanQueueOn(boss: Pick<PgBoss, 'send'>): ReplanQueue {
  return { requestReplan: (identityKeys, reason) => requestReplan(boss, identityKeys, reason) };
}
