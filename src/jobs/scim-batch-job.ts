/**
 * Asynchronous SCIM Bulks on the job queue: a `scim-batch` job runs (or
 * resumes) one batch (src/app/inbound/scim-batch.ts), and a sweep, at start
 * and every minute, sends one for each unfinished batch that no live process
 * holds — accepted by an API process that died, or stopped mid-way. The job
 * id is the batch with its lapsed lease, so one lapse is resumed once.
 */
import type { PgBoss } from 'pg-boss';
import type { Kysely } from 'kysely';
import { resumableBatches, runBatch, type BatchRunnerDeps } from '../app/inbound/scim-batch.ts';
import type { Database } from '../store/database.ts';
import { deterministicJobId, QUEUE, scimBatchJobSchema } from './job-queues.ts';

/**
 * Sends a scim-batch job for each batch to take over; answers how many.
 * @example await sweepScimBatches(boss, db, new Date())
 */
export async function sweepScimBatches(boss: Pick<PgBoss, 'send'>, db: Kysely<Database>, now: Date): Promise<number> {
  const batches = await resumableBatches(db, now);
  for (const b of batches) {
    await boss.send(QUEUE.scimBatch, { batchId: b.id }, { id: deterministicJobId('scim-batch', b.id, b.leaseUntil?.toISOString() ?? 'never taken') });
  }
  return batches.length;
}

/**
 * The workers of both queues, the sweep's schedule (with `cron`), and one sweep now: a process started after
 * a crash carries on at once.
 * @example await registerScimBatchJobs(boss, { db, push, now, owner: `worker:${id}` }, { pollingIntervalSeconds: 0.5 }, true)
 */
export async function registerScimBatchJobs(boss: PgBoss, deps: BatchRunnerDeps, polling: { readonly pollingIntervalSeconds: number }, cron: boolean): Promise<void> {
  await boss.work(QUEUE.scimBatch, { ...polling, batchSize: 1 }, async ([job]) => {
    const { batchId } = scimBatchJobSchema.parse(job!.data);
    // `busy`: a live process holds it; should that one die, its lapsed lease is swept again.
    await runBatch(deps, batchId);
  });
  await boss.work(QUEUE.scimBatchSweep, polling, async () => {
    await sweepScimBatches(boss, deps.db, deps.now());
  });
  if (cron) await boss.schedule(QUEUE.scimBatchSweep, '* * * * *');
  await sweepScimBatches(boss, deps.db, deps.now());
}
