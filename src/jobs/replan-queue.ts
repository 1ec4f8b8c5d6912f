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
import { QUEUE } from './job-queues.ts';
import type { Workers } from './workers.ts';

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
    async requestReplan(identityKeys, reason, options) {
      boss ??= startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      await requestReplan(await boss, identityKeys, reason, options);
    },
    async close() {
      if (!boss) return;
      const started = await boss.catch(() => null);
      await started?.stop({ graceful: false, close: false });
    },
  };
}

/**
 * A queue that sends to the workers of this process (`jml serve --workers`)
 * and wakes its replan worker, so the replan starts at once rather than at
 * its next poll.
 */
export function replanQueueOn(workers: Pick<Workers, 'boss' | 'wake'>): ReplanQueue {
  return {
    async requestReplan(identityKeys, reason, options) {
      await requestReplan(workers.boss, identityKeys, reason, options);
      workers.wake(QUEUE.replan);
    },
  };
}
