/**
 * A store with the job queue started on it, as the change-job tests use them:
 * no schedules, and a short apply lease so a test of a lapsed lease waits
 * seconds, not minutes.
 */
import type { PgBoss } from 'pg-boss';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { TestBackend } from './backends.ts';

/**
 * Opens a fresh store of `backend` and starts the job queue on it.
 * @example before(async () => ({ store, boss } = await openStoreWithBoss(backend)));
 */
export async function openStoreWithBoss(backend: TestBackend): Promise<{ store: Store; boss: PgBoss }> {
  const store = await backend.open();
  const boss = await startJobBoss(store.db, store.backend, { schedule: false, applyExpireSeconds: 5 });
  return { store, boss };
}

/** Stops the queue without waiting for its jobs, then closes the store. */
export async function closeStoreWithBoss(store: Store, boss: PgBoss): Promise<void> {
  await boss.stop({ graceful: false, close: false });
  await store.close();
}
