/**
 * An asynchronous SCIM Bulk as a durable batch (table scim_batches): the
 * accepted request is stored, a process takes it with a lease and runs it
 * (scim-bulk-run.ts), each push's outcomes are written in that push's
 * transaction, and the lease is renewed with each. A process that dies leaves
 * the lease to lapse; the next `jml serve` or `jml worker` (the scim-batch
 * job) takes the batch over and runs only the operations without an outcome,
 * so every operation is applied exactly once.
 */
import os from 'node:os';
import type { Kysely } from 'kysely';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';
import { runBulkOperations, type BulkOutcome, type BulkRequest, type BulkRunDeps } from './scim-bulk-run.ts';

type Db = Kysely<Database>;

/** The lease holder name of this process when it runs batches as an API process (`api:<host>:<pid>`). */
export function apiBatchRunner(): string {
  return `api:${os.hostname()}:${process.pid}`;
}

/** How long a batch stays with the process running it without a sign of life (a push, or the start). */
export const BATCH_LEASE_MS = 30_000;

/**
 * Runs of a batch that may fail unexpectedly (an error that is neither a refusal nor a passing outage: a bug)
 * before the batch fails with that error, instead of being taken over again and again.
 */
export const BATCH_MAX_ATTEMPTS = 5;

export interface AcceptedBatch {
  readonly id: string;
  readonly source: string;
  readonly actor: string;
  readonly trigger: string;
  readonly request: BulkRequest;
  readonly now: Date;
}

/**
 * Stores an accepted batch (status `accepted`, no lease): from here on it is
 * run by whichever process takes it first.
 * @example await acceptBatch(db, { id, source: 'entra', actor, trigger: `api:${requestId}`, request: { operations }, now })
 */
export async function acceptBatch(db: Db, batch: AcceptedBatch): Promise<void> {
  await db
    .insertInto('scim_batches')
    .values({ id: batch.id, source: batch.source, actor: batch.actor, status: 'accepted', operations: batch.request.operations.length, request: JSON.stringify(batch.request), trigger: batch.trigger, results: JSON.stringify([]), created_at: batch.now.toISOString() })
    .execute();
}

export interface BatchRunnerDeps extends BulkRunDeps {
  /** Who runs it (`api:<host>:<pid>`, `worker:<host>:<pid>`): the lease holder. */
  readonly owner: string;
  readonly leaseMs?: number;
  /** Default BATCH_MAX_ATTEMPTS. */
  readonly maxAttempts?: number;
}

/** `done`: the batch is finished (now or before); `busy`: another live process holds it; `missing`: no such batch. */
export type BatchRunOutcome = 'done' | 'busy' | 'missing';

/** An outcome as the batch keeps it: without the stored resource (the client reads that with GET). */
function kept(outcome: BulkOutcome): BulkOutcome {
  if (!outcome.ok) return outcome;
  const { user: _user, ...rest } = outcome;
  return rest;
}

/**
 * Takes the batch (when unfinished and its lease is free or lapsed) and runs
 * the operations it has no outcome for. An error that retrying cannot cure
 * (a refused request) fails the batch; a passing outage leaves it to be taken
 * over; an unexpected error does too, until the batch's BATCH_MAX_ATTEMPTS-th
 * run, which fails it with the error kept for its status resource.
 * @example await runBatch({ db, push, now, owner: `worker:${host}:${pid}` }, batchId)
 */
export async function runBatch(deps: BatchRunnerDeps, batchId: string): Promise<BatchRunOutcome> {
  const leaseMs = deps.leaseMs ?? BATCH_LEASE_MS;
  const leaseUntil = () => new Date(deps.now().getTime() + leaseMs).toISOString();
  const now = deps.now().toISOString();
  const batch = await deps.db
    .updateTable('scim_batches')
    .set({ status: 'running', lease_owner: deps.owner, lease_until: leaseUntil() })
    .where('id', '=', batchId)
    .where('status', 'in', ['accepted', 'running'])
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now as unknown as Date)]))
    .returning(['source', 'actor', 'trigger', 'request', 'results', 'import_ids', 'attempts'])
    .executeTakeFirst();
  if (!batch) {
    const row = await deps.db.selectFrom('scim_batches').select('status').where('id', '=', batchId).executeTakeFirst();
    return !row ? 'missing' : row.status === 'done' || row.status === 'failed' ? 'done' : 'busy';
  }
  if (!batch.request) throw new JmlError('internal', `batch ${batchId} was accepted without its request`);
  const request = batch.request as unknown as BulkRequest;
  const record = async (trx: Db, outcomes: readonly BulkOutcome[], push: { readonly recorded: boolean; readonly importId: string } | null) => {
    // Under the row lock: if another process took the batch over meanwhile, or already recorded one of these
    // operations, this push is rolled back and this run ends.
    const current = await trx.selectFrom('scim_batches').select(['results', 'lease_owner', 'import_ids']).where('id', '=', batchId).forUpdate().executeTakeFirstOrThrow();
    const results = (current.results ?? []) as BulkOutcome[];
    const positions = new Set(results.map((r) => r.position));
    if (current.lease_owner !== deps.owner || outcomes.some((o) => positions.has(o.position))) {
      throw new JmlError('conflict', `batch ${batchId} was taken over by ${current.lease_owner ?? 'another process'}`);
    }
    const merged = [...results, ...outcomes.map(kept)].sort((a, b) => a.position - b.position);
    const importIds = push?.recorded ? [...current.import_ids, push.importId] : current.import_ids;
    await trx
      .updateTable('scim_batches')
      .set({ results: JSON.stringify(merged), processed: merged.length, failed: merged.filter((o) => !o.ok).length, import_ids: importIds, lease_until: leaseUntil() })
      .where('id', '=', batchId)
      .execute();
  };
  try {
    await runBulkOperations(deps, {
      source: batch.source,
      actor: batch.actor,
      trigger: batch.trigger ?? `batch:${batchId}`,
      label: `scim Bulk ${batchId}`,
      dryRun: false,
      request,
      done: (batch.results ?? []) as BulkOutcome[],
      record,
    });
  } catch (error) {
    if (isJmlError(error, 'conflict')) return 'busy';
    const at = deps.now().toISOString();
    const passing = isJmlError(error) && (error.retryable || error.code === 'unavailable');
    // A refusal ends the batch at once; a passing outage is retried as long as it lasts; anything else
    // (a bug: a plain Error, or an internal one) is retried BATCH_MAX_ATTEMPTS times in all, then ends it.
    const unexpected = !passing && (!isJmlError(error) || error.code === 'internal');
    const attempts = batch.attempts + (unexpected ? 1 : 0);
    const failed = !passing && (!unexpected || attempts >= (deps.maxAttempts ?? BATCH_MAX_ATTEMPTS));
    // The status resource shows this to the source's token: a refusal says why; a bug's own message (which may
    // name tables or internals) stays in the server log, where the caller of this run writes it with the batch id.
    const message = unexpected
      ? `an internal error stopped the batch after ${attempts} run(s); the server log has its detail under batch ${batchId}`
      : error instanceof Error ? error.message : String(error);
    await deps.db
      .updateTable('scim_batches')
      .set(failed ? { status: 'failed', finished_at: at, lease_owner: null, lease_until: null, attempts, error: message } : { lease_until: at, attempts, ...(unexpected ? { error: message } : {}) })
      .where('id', '=', batchId)
      .where('lease_owner', '=', deps.owner)
      .execute();
    throw error;
  }
  await deps.db
    .updateTable('scim_batches')
    .set({ status: 'done', finished_at: deps.now().toISOString(), lease_owner: null, lease_until: null, request: null })
    .where('id', '=', batchId)
    .where('lease_owner', '=', deps.owner)
    .execute();
  return 'done';
}

/**
 * Unfinished batches no live process holds (never taken, or their lease
 * lapsed), oldest first, with the lease they had: what a starting process,
 * or the workers' sweep, takes over.
 */
export async function resumableBatches(db: Db, now: Date): Promise<{ readonly id: string; readonly leaseUntil: Date | null }[]> {
  const rows = await db
    .selectFrom('scim_batches')
    .select(['id', 'lease_until'])
    .where('status', 'in', ['accepted', 'running'])
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now.toISOString() as unknown as Date)]))
    .orderBy('created_at')
    .limit(1000)
    .execute();
  return rows.map((r) => ({ id: r.id, leaseUntil: r.lease_until }));
}

/**
 * Runs every batch no live process holds, one after another (what an API
 * process without workers does at start and every lease period); answers how
 * many it finished. A batch that fails is reported and left to its lease.
 * @example await resumeBatches({ db, push, now, owner }, (id, e) => log(id, e))
 */
export async function resumeBatches(deps: BatchRunnerDeps, onError: (batchId: string, error: unknown) => void): Promise<number> {
  let finished = 0;
  for (const { id } of await resumableBatches(deps.db, deps.now())) {
    try {
      if ((await runBatch(deps, id)) === 'done') finished += 1;
    } catch (error) {
      onError(id, error);
    }
  }
  return finished;
}
