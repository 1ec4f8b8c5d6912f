/**
 * Each change of an applied plan runs as its own durable job. A job carries
 * (plan, change, seq); `change_runs.seq` says which job may act next, so a
 * duplicate or late delivery of an older job does nothing. A lease keeps two
 * live workers off one change; a killed worker's lease lapses with its job's
 * expiry and the retried job reads back before acting (applyChange), so a
 * crash between "did it" and "recorded it" neither duplicates nor loses it.
 *
 * Connector failures are rescheduled here, not by pg-boss: one attempt
 * (applyChange) returns its outcome, and a retryable one sends the next job
 * after the one backoff rule (domain/retry-backoff), in the same transaction
 * that moves `seq` on. pg-boss's own retries only cover workers that crashed
 * or expired. A quarantined system's changes wait without using up attempts.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Change, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import { applyChanges, type ApplyChangeDeps, type ChangeResult } from '../app/apply-change.ts';
import { retryDelayMs } from '../domain/retry-backoff.ts';
import { raiseFinding, type AlertSink } from '../app/alert.ts';
import { DEFAULT_QUARANTINE, recordSystemFailure, recordSystemSuccess, type QuarantinePolicy } from '../app/quarantine.ts';
import { loadPlan, recordPlan, updateChange, type ChangeState } from '../app/plan-record-store.ts';
import { appendAudit } from '../store/audit-log.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database } from '../store/database.ts';
import type { PriorityLane } from '../store/priority-lane.ts';
import type { HeldChanges } from './held-changes.ts';
import { inTransaction, type JobSender } from './job-boss.ts';
import { changeJobId, changePriority, deterministicJobId, LEAVER_LOCKOUT_PRIORITY, QUEUE, type ChangeJob } from './job-queues.ts';

export interface JobRetryPolicy {
  /** Tries of one change before it is parked. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_JOB_RETRY: JobRetryPolicy = { maxAttempts: 8, baseDelayMs: 2_000, maxDelayMs: 15 * 60_000 };

export interface ChangeJobDeps extends ApplyChangeDeps {
  readonly boss: JobSender;
  /** Names this worker in leases (host:pid). */
  readonly workerId: string;
  /** How long a worker holds a change; must not exceed the apply queue's expiry. */
  readonly leaseMs: number;
  readonly retry?: Partial<JobRetryPolicy>;
  readonly quarantine?: Partial<QuarantinePolicy>;
  readonly alert?: AlertSink;
  /** Jitter for the backoff; Math.random by default. */
  readonly random?: () => number;
  /**
   * Systems whose connectors this process did not open though policy has them
   * (`jml apply` and the console's Apply open only their plans' systems, yet
   * work the shared queue): their changes are left in the queue for a process
   * that has the connector, instead of being parked as "no connector".
   */
  readonly leftToOthers?: (system: string) => boolean;
  /**
   * Called once the changes that waited on a settled one are queued and
   * committed, so this process's workers can take them now (another
   * process's are woken by the queue's notification, where there is one).
   */
  readonly onDependentsQueued?: () => void;
  /** Where the changes that lock a leaver out run as urgent work, which the rest of the process gives way to. */
  readonly lane?: Pick<PriorityLane, 'urgent'>;
  /** Changes waiting for another plan's run of the same change, woken when it ends in this process. */
  readonly heldChanges?: HeldChanges;
}

/** How long a change being done by another plan's run waits before it looks again. */
const OTHER_PLAN_WAIT_MS = 500;

/** How long a change left for another process waits before it is offered again. */
const ELSEWHERE_DELAY_MS = 5_000;

/** States after which nothing more happens to a change by itself. */
export const FINAL: readonly ChangeState[] = ['already', 'confirmed', 'parked', 'blocked'];

export type ChangeJobOutcome = Exclude<ChangeResult['state'], 'retry'> | 'stale' | 'deferred' | 'retrying' | 'locked' | 'elsewhere';

/**
 * Records a plan and queues a job for every change that depends on nothing;
 * the others are queued as their dependencies settle. Submitting the same
 * plan again queues nothing new.
 *
 * One transaction records the plan and queues its jobs: a process killed in
 * between (a large plan's submit takes seconds) leaves no recorded plan
 * without runs, which no sweep would find and every later apply would wait on.
 * Returns how many jobs it queued, and whether it recorded the plan (false:
 * the plan was recorded before, by an earlier submit).
 * @example
 * await submitPlan({ db, boss, actor: 'cli:alice' }, plan);
 */
export async function submitPlan(deps: Pick<ChangeJobDeps, 'db' | 'boss' | 'actor' | 'now'>, plan: Plan): Promise<{ readonly queued: number; readonly recorded: boolean }> {
  const now = (deps.now ?? (() => new Date()))();
  let queued = 0;
  let recorded = false;
  await deps.db.transaction().execute(async (trx) => {
    recorded = await recordPlan(trx, plan, deps.actor, now);
    const leavers = await leaverKeys(trx, plan);
    const priorityOf = (c: Change) => changePriority(c.kind, leavers.has(c.identityKey));
    const run = (c: Change) => ({ plan_id: plan.id, change_id: c.id, system: c.system, priority: priorityOf(c) });
    if (recorded) {
      // A plan recorded just now has no runs yet: one statement per chunk, each column one parameter.
      await bulkInsert(trx, 'change_runs', { plan_id: 'text', change_id: 'text', system: 'text', priority: 'integer' }, plan.changes, { map: run });
    } else {
      // Submitted again (a resumed or repeated apply): its runs may exist, and keep their seq.
      for (let i = 0; i < plan.changes.length; i += 500) {
        await trx.insertInto('change_runs').values(plan.changes.slice(i, i + 500).map(run)).onConflict((oc) => oc.columns(['plan_id', 'change_id']).doNothing()).execute();
      }
    }
    const roots = plan.changes.filter((c) => c.dependsOn.length === 0);
    for (let i = 0; i < roots.length; i += 500) {
      const jobs = roots.slice(i, i + 500).map((c) => {
        const data = { planId: plan.id, changeId: c.id, seq: 1 };
        return { id: changeJobId(data), data, priority: priorityOf(c) };
      });
      await deps.boss.insert(QUEUE.applyChange, jobs, inTransaction(trx));
    }
    queued = roots.length;
    await appendAudit(trx, { actor: deps.actor, action: 'plan.submitted', subject: `plan:${plan.id}`, trigger: 'apply', details: { changes: plan.changes.length, queued } }, now);
    // In the transaction that queues the jobs: the statistics count its own rows and arrive with them, so no
    // worker fetches the first jobs before the planner knows how many there are.
    if (plan.changes.length >= ANALYZE_FROM_CHANGES) await analyzeSubmitted(trx);
  });
  return { queued, recorded };
}

/**
 * A plan with at least this many changes has the tables it was just written to analysed before
 * its jobs run. Below it, a plan's rows are too few for a wrong estimate to cost anything.
 */
export const ANALYZE_FROM_CHANGES = 1_000;

/**
 * Brings the planner's statistics up to the rows a large plan just wrote. Until the tables are
 * analysed the planner expects a handful of rows for a new plan id, so each batch's statements
 * (claim, records, settle, pg-boss's completion) found their 200 changes by reading every change
 * of the plan: at 20,000 people on PostgreSQL that was most of the server's CPU per change, and
 * it grew with the plan. Autovacuum analyses them only after a minute or more (PGlite runs no
 * autovacuum). ANALYZE reads a sample of at most 30,000 rows a table, so its cost is bounded
 * (0.4-0.5 s of the server's CPU at 40,000 changes); a role that does not own a table gets a
 * warning for it and nothing else.
 */
async function analyzeSubmitted(db: Kysely<Database>): Promise<void> {
  await sql`ANALYZE plan_changes, change_runs, pgboss.job`.execute(db);
}

/** The plan's identities that have left: their changes are a leaver's, and go first (changePriority). */
async function leaverKeys(db: Kysely<Database>, plan: Plan): Promise<ReadonlySet<string>> {
  const keys = [...new Set(plan.changes.map((c) => c.identityKey))];
  const leavers = new Set<string>();
  for (let i = 0; i < keys.length; i += 1000) {
    const rows = await db.selectFrom('identities').select('key').where('key', 'in', keys.slice(i, i + 1000)).where('status', '=', 'left').execute();
    for (const row of rows) leavers.add(row.key);
  }
  return leavers;
}

/** What one job of a batch ended with: its outcome, or the error that failed it (pg-boss offers it again). */
export type ChangeJobResult = { readonly outcome: ChangeJobOutcome } | { readonly error: Error };

/**
 * Runs one change job. Safe to call with any job, any number of times, in
 * any order: only the job whose seq is current acts.
 */
export async function runChangeJob(deps: ChangeJobDeps, job: ChangeJob, planCache?: Map<string, Promise<Plan>>): Promise<ChangeJobOutcome> {
  const [result] = await runChangeJobs(deps, [job], planCache);
  if ('error' in result!) throw result.error;
  return result!.outcome;
}

/**
 * Runs the change jobs a worker fetched at once, each as `runChangeJob`
 * would, with the store's work done per batch rather than per change: one
 * statement claims every job's run, the changes of one plan are applied
 * together (applyChanges: one transaction records their final states, audit
 * entries, the runs' next seq and the jobs of the changes that waited on
 * them), and system health and the plan's close are looked at once. Results
 * come back in the order of `jobs`.
 */
export async function runChangeJobs(deps: ChangeJobDeps, jobs: readonly ChangeJob[], planCache?: Map<string, Promise<Plan>>): Promise<ChangeJobResult[]> {
  const results = new Map<ChangeJob, ChangeJobResult>();
  let claimed: Map<string, ClaimedRun>;
  try {
    claimed = await claimRuns(deps, jobs);
  } catch (error) {
    // Nothing was claimed: every job is offered again.
    return jobs.map(() => ({ error: error as Error }));
  }
  const byPlan = new Map<string, { readonly job: ChangeJob; readonly failures: number; readonly priority: number }[]>();
  const taken = new Set<string>();
  const notClaimed: ChangeJob[] = [];
  for (const job of jobs) {
    const key = runKey(job.planId, job.changeId, job.seq);
    const run = claimed.get(key);
    if (run === undefined) {
      notClaimed.push(job);
    } else if (taken.has(key)) {
      // The same run twice in one batch (a re-delivery beside the original): the first one acts.
      results.set(job, { outcome: 'stale' });
    } else {
      taken.add(key);
      byPlan.set(job.planId, [...(byPlan.get(job.planId) ?? []), { job, ...run }]);
    }
  }
  // A batch may hold a leaver's changes beside others (the queue hands out the highest priority
  // first, then fills the batch): the leaver's plans go first, not after the rest. The steps that
  // lock a leaver out run as urgent work the rest of the process gives way to; a leaver's grant
  // clean-up only goes first, or a hundred leavers' clean-up would hold back the next leaver's import.
  const urgency = (group: readonly { readonly priority: number }[]) => Math.max(...group.map((g) => g.priority));
  const groups = [...byPlan].sort(([, a], [, b]) => urgency(b) - urgency(a));
  for (const [planId, group] of groups) {
    const run = () => runPlanJobs(deps, planId, group, planCache);
    try {
      const outcomes = deps.lane && urgency(group) >= LEAVER_LOCKOUT_PRIORITY ? await deps.lane.urgent(run) : await run();
      for (const [job, result] of outcomes) results.set(job, result);
    } catch (error) {
      for (const { job } of group) {
        await releaseLease(deps.db, job, deps.workerId);
        results.set(job, { error: error as Error });
      }
    }
    await deps.heldChanges?.ended(group.map((g) => g.job.changeId));
  }
  for (const job of notClaimed) results.set(job, await settleResult(() => unclaimed(deps, job)));
  return jobs.map((job) => results.get(job)!);
}

/** A run this worker leased: its failures so far and its queue priority. */
interface ClaimedRun {
  readonly failures: number;
  readonly priority: number;
}

/**
 * Leases the runs of the jobs that are current and whose change no worker
 * holds, in this plan or in any other: change ids are stable, so a plan
 * computed while an earlier one is applied carries the same changes, and two
 * runs of one change at once would both find it undone and both act. Every
 * run of the batch's changes is locked first (in change and plan order, so
 * two claims cannot deadlock), which makes a concurrent claim wait and then
 * see this one's lease; a change appearing twice in the batch (two plans) is
 * claimed once. One statement for the batch. Returns failure counts and priorities by run.
 */
async function claimRuns(deps: ChangeJobDeps, jobs: readonly ChangeJob[]): Promise<Map<string, ClaimedRun>> {
  if (jobs.length === 0) return new Map();
  const now = (deps.now ?? (() => new Date()))();
  const once: ChangeJob[] = [];
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.changeId)) continue;
    seen.add(job.changeId);
    once.push(job);
  }
  const at = now.toISOString();
  const rows = await sql<{ plan_id: string; change_id: string; seq: number; failures: number; priority: number }>`
    WITH same AS MATERIALIZED (
      SELECT plan_id, change_id, lease_until FROM change_runs
      WHERE change_id = ANY(${once.map((j) => j.changeId)}::text[])
      ORDER BY change_id, plan_id
      FOR UPDATE
    ), busy AS (
      SELECT DISTINCT change_id FROM same WHERE lease_until >= ${at}::timestamptz
    )
    UPDATE change_runs AS cr SET lease_owner = ${deps.workerId}, lease_until = ${new Date(now.getTime() + deps.leaseMs).toISOString()}::timestamptz
    FROM unnest(${once.map((j) => j.planId)}::text[], ${once.map((j) => j.changeId)}::text[], ${once.map((j) => j.seq)}::int[]) AS j(plan_id, change_id, seq)
    WHERE cr.plan_id = j.plan_id AND cr.change_id = j.change_id AND cr.seq = j.seq
      AND cr.change_id = ANY(${once.map((j) => j.changeId)}::text[])
      AND (cr.lease_until IS NULL OR cr.lease_until < ${at}::timestamptz)
      AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.change_id = cr.change_id)
    RETURNING cr.plan_id, cr.change_id, cr.seq, cr.failures, cr.priority`.execute(deps.db);
  return new Map(rows.rows.map((r) => [runKey(r.plan_id, r.change_id, r.seq), { failures: r.failures, priority: r.priority }]));
}

function runKey(planId: string, changeId: string, seq: number): string {
  return `${planId}\u0000${changeId}\u0000${seq}`;
}

/** A job whose run it could not claim: stale (the run moved on), or held by another worker's lease. */
async function unclaimed(deps: ChangeJobDeps, job: ChangeJob): Promise<ChangeJobOutcome> {
  const now = deps.now ?? (() => new Date());
  const row = await deps.db.selectFrom('change_runs').select(['seq', 'lease_until', 'priority']).where('plan_id', '=', job.planId).where('change_id', '=', job.changeId).executeTakeFirst();
  if (!row || row.seq !== job.seq) return 'stale';
  const at = now().getTime();
  const leaseUntil = row.lease_until ? new Date(row.lease_until).getTime() : 0;
  // Another worker holds it. In this plan: this is a re-delivery of a job that expired while that
  // worker was slow; come back when its lease lapses, by when it has settled the change or died.
  // Failing the job instead would leave the delay to pg-boss's exponential retry backoff, and on
  // a loaded machine a few such deliveries put the change minutes away. In another plan carrying
  // the same change: it is being done now; look again shortly, and the read-back finds it done.
  // The id keys a wait on this plan's lease to that lease, so duplicate deliveries queue one job. A
  // wait on another plan gets a fresh id each time: keyed to the clock, two waits in one instant (a
  // frozen clock in tests, the same millisecond) would share an id, and pg-boss drops the second
  // as a duplicate, leaving the change planned for good.
  // "Shortly" is counted by the queue's own clock (a delay in seconds), not jml's, which a test or a
  // preview may set elsewhere in time.
  const ownLease = leaseUntil > at;
  const startAfter = ownLease ? new Date(leaseUntil + 250) : OTHER_PLAN_WAIT_MS / 1000;
  const id = ownLease ? deterministicJobId('change-after-lease', job.planId, job.changeId, job.seq, leaseUntil) : randomUUID();
  await deps.boss.send(QUEUE.applyChange, job, { id, startAfter, priority: row.priority });
  // Held by another plan's run in this process: come back the moment it ends, not only after the wait.
  if (!ownLease) deps.heldChanges?.hold(job.changeId, async () => void (await deps.boss.send(QUEUE.applyChange, job, { id: randomUUID(), priority: row.priority })));
  return 'locked';
}

async function settleResult(fn: () => Promise<ChangeJobOutcome>): Promise<ChangeJobResult> {
  try {
    return { outcome: await fn() };
  } catch (error) {
    return { error: error as Error };
  }
}

/** The claimed jobs of one plan: passed on, deferred, or applied together. */
async function runPlanJobs(deps: ChangeJobDeps, planId: string, group: readonly { readonly job: ChangeJob; readonly failures: number }[], planCache?: Map<string, Promise<Plan>>): Promise<Map<ChangeJob, ChangeJobResult>> {
  const now = deps.now ?? (() => new Date());
  const retry = { ...DEFAULT_JOB_RETRY, ...deps.retry };
  const quarantine = { ...DEFAULT_QUARANTINE, ...deps.quarantine };
  const results = new Map<ChangeJob, ChangeJobResult>();
  const plan = await cachedPlan(deps.db, planId, planCache);
  const index = planIndex(plan);
  const systems = [...new Set(group.map((g) => index.byId.get(g.job.changeId)?.system).filter((s): s is string => typeof s === 'string'))];
  const quarantined = await quarantinedSystems(deps.db, systems);
  const toApply: { readonly job: ChangeJob; readonly change: Change; readonly failures: number }[] = [];
  for (const { job, failures } of group) {
    const change = index.byId.get(job.changeId);
    if (!change) {
      await releaseLease(deps.db, job, deps.workerId);
      results.set(job, { error: new JmlError('not_found', `change ${job.changeId} is not in plan ${job.planId}`) });
    } else if (change.system !== null && deps.leftToOthers?.(change.system)) {
      results.set(job, await settleResult(async () => (await passOn(deps, job, ELSEWHERE_DELAY_MS), 'elsewhere')));
    } else if (change.system !== null && quarantined.has(change.system)) {
      results.set(job, await settleResult(async () => (await scheduleNext(deps, job, failures, quarantine.retryDelayMs), 'deferred')));
    } else {
      toApply.push({ job, change, failures });
    }
  }
  if (toApply.length === 0) return results;

  const jobOf = new Map(toApply.map((t) => [t.change.id, t.job]));
  const settled = new Set<string>();
  let queuedDependents = 0;
  const applied = await applyChanges(
    {
      ...deps,
      // A worker that dies after this commit leaves nothing undone: the waiting changes are queued with it.
      onRecorded: async (trx, recorded) => {
        await settleRuns(trx, planId, recorded.map((r) => jobOf.get(r.change.id)!));
        queuedDependents += await queueReadyDependents(trx, deps.boss, plan, recorded.filter((r) => FINAL.includes(r.state)).map((r) => r.change));
        for (const r of recorded) settled.add(r.change.id);
      },
    },
    planId,
    toApply.map((t) => t.change),
  );
  // Committed: this process's idle loops take the queued changes now (others are woken by the queue's notification).
  if (queuedDependents > 0) deps.onDependentsQueued?.();
  const succeeded = new Set<string>();
  const unsettled: ChangeJob[] = [];
  let anyFinal = false;
  for (const [i, result] of applied.entries()) {
    const { job, change, failures } = toApply[i]!;
    if (result.state === 'retry') {
      results.set(job, await settleResult(() => retryOrPark(deps, plan, job, change, failures + 1, result, retry, quarantine)));
      continue;
    }
    if (change.system && (result.state === 'confirmed' || result.state === 'already')) succeeded.add(change.system);
    if (result.state === 'parked') {
      await raiseFinding(deps.db, { kind: 'parked_change', subject: change.id, system: change.system, identityKey: change.identityKey, detail: `${change.kind} for ${change.identityKey} in ${change.system ?? 'jml'} parked: ${result.lastError ?? 'unknown error'}` }, now(), deps.alert);
    }
    if (!settled.has(change.id)) unsettled.push(job);
    if (FINAL.includes(result.state as ChangeState)) anyFinal = true;
    results.set(job, { outcome: result.state });
  }
  await settleRuns(deps.db, planId, unsettled);
  // A change fetched in the same batch as one it waits on found that one unsettled, and its run has just
  // moved on with no successor; the one it waited on may have settled meanwhile, having queued it at the
  // old seq. It goes again now if it is ready, instead of waiting for the sweep.
  const waited = toApply.filter((_, i) => applied[i]!.state === 'waiting').map((t) => t.change);
  if (waited.length > 0) await queueIfReady(deps, plan, waited);
  for (const system of succeeded) await recordSystemSuccess(deps.db, system, now());
  if (anyFinal) await closePlanIfDone(deps, plan.id);
  return results;
}

/** The systems among `systems` that are quarantined now. */
async function quarantinedSystems(db: Kysely<Database>, systems: readonly string[]): Promise<Set<string>> {
  if (systems.length === 0) return new Set();
  const rows = await db.selectFrom('system_health').select('system').where('system', 'in', systems).where('state', '=', 'quarantined').execute();
  return new Set(rows.map((r) => r.system));
}

/** A plan's changes by id and the changes that depend on each: built once per loaded plan, not per job. */
interface PlanIndex {
  readonly byId: ReadonlyMap<string, Change>;
  readonly dependents: ReadonlyMap<string, readonly Change[]>;
}

const planIndexes = new WeakMap<Plan, PlanIndex>();

function planIndex(plan: Plan): PlanIndex {
  let index = planIndexes.get(plan);
  if (!index) {
    const dependents = new Map<string, Change[]>();
    for (const change of plan.changes) for (const id of change.dependsOn) dependents.set(id, [...(dependents.get(id) ?? []), change]);
    index = { byId: new Map(plan.changes.map((c) => [c.id, c])), dependents };
    planIndexes.set(plan, index);
  }
  return index;
}

async function retryOrPark(deps: ChangeJobDeps, plan: Plan, job: ChangeJob, change: Change, failures: number, result: ChangeResult, retry: JobRetryPolicy, quarantine: QuarantinePolicy): Promise<ChangeJobOutcome> {
  const now = deps.now ?? (() => new Date());
  const message = result.lastError ?? 'retryable failure';
  if (change.system) await recordSystemFailure(deps.db, change.system, message, quarantine, now(), deps.alert, result.unreachable === true);
  if (failures >= retry.maxAttempts) {
    let queuedDependents = 0;
    const lastError = `gave up after ${failures} attempts: ${message}`;
    await deps.db.transaction().execute(async (trx) => {
      await updateChange(trx, job.planId, change, { state: 'parked', lastError, finished: true }, now());
      await appendAudit(trx, { actor: deps.actor, action: 'change.parked', subject: change.identityKey, trigger: `plan:${job.planId}`, details: { change: change.id, kind: change.kind, system: change.system, attempts: failures, error: lastError } }, now());
      await settle(trx, job);
      queuedDependents = await queueReadyDependents(trx, deps.boss, plan, [change]);
    });
    if (queuedDependents > 0) deps.onDependentsQueued?.();
    await raiseFinding(deps.db, { kind: 'parked_change', subject: change.id, system: change.system, identityKey: change.identityKey, detail: `${change.kind} for ${change.identityKey} in ${change.system ?? 'jml'} parked: ${lastError}` }, now(), deps.alert);
    await closePlanIfDone(deps, plan.id);
    return 'parked';
  }
  await scheduleNext(deps, job, failures, retryDelayMs(failures, retry, deps.random ?? Math.random, result.retryAfterMs));
  return 'retrying';
}

/** Moves seq on, frees the lease and sends the successor job, all or nothing. */
async function scheduleNext(deps: ChangeJobDeps, job: ChangeJob, failures: number, delayMs: number): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const next = { planId: job.planId, changeId: job.changeId, seq: job.seq + 1 };
  const startAfter = new Date(now().getTime() + delayMs);
  await deps.db.transaction().execute(async (trx) => {
    const run = await trx
      .updateTable('change_runs')
      .set({ seq: next.seq, failures, lease_owner: null, lease_until: null, next_at: startAfter.toISOString() })
      .where('plan_id', '=', job.planId)
      .where('change_id', '=', job.changeId)
      .where('seq', '=', job.seq)
      .returning('priority')
      .executeTakeFirst();
    await deps.boss.send(QUEUE.applyChange, next, { id: changeJobId(next), startAfter, priority: run?.priority ?? 0, ...inTransaction(trx) });
  });
}

/** Frees the lease and offers the same job again after `delayMs`, all or nothing; seq stays, so nothing else moves. */
async function passOn(deps: ChangeJobDeps, job: ChangeJob, delayMs: number): Promise<void> {
  const startAfter = new Date((deps.now ?? (() => new Date()))().getTime() + delayMs);
  await deps.db.transaction().execute(async (trx) => {
    await freeLease(trx, job, deps.workerId);
    const run = await trx.selectFrom('change_runs').select('priority').where('plan_id', '=', job.planId).where('change_id', '=', job.changeId).executeTakeFirst();
    await deps.boss.send(QUEUE.applyChange, job, { id: deterministicJobId('change-elsewhere', job.planId, job.changeId, job.seq, startAfter.getTime()), startAfter, priority: run?.priority ?? 0, ...inTransaction(trx) });
  });
}

/** The run is over with no successor queued: a later job (sweep, dependency) uses the next seq. */
async function settle(db: Kysely<Database>, job: ChangeJob): Promise<void> {
  await db
    .updateTable('change_runs')
    .set((eb) => ({ seq: eb('seq', '+', 1), lease_owner: null, lease_until: null, next_at: null }))
    .where('plan_id', '=', job.planId)
    .where('change_id', '=', job.changeId)
    .where('seq', '=', job.seq)
    .execute();
}

/** `settle` for several jobs of one plan, in one statement. */
async function settleRuns(db: Kysely<Database>, planId: string, jobs: readonly ChangeJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await sql`
    UPDATE change_runs AS cr SET seq = cr.seq + 1, lease_owner = NULL, lease_until = NULL, next_at = NULL
    FROM unnest(${jobs.map((j) => j.changeId)}::text[], ${jobs.map((j) => j.seq)}::int[]) AS j(change_id, seq)
    WHERE cr.plan_id = ${planId} AND cr.change_id = j.change_id AND cr.seq = j.seq AND cr.change_id = ANY(${jobs.map((j) => j.changeId)}::text[])`.execute(db);
}

/** Frees this worker's lease on the job's run; seq stays. */
async function freeLease(db: Kysely<Database>, job: ChangeJob, workerId: string): Promise<void> {
  await db
    .updateTable('change_runs')
    .set({ lease_owner: null, lease_until: null })
    .where('plan_id', '=', job.planId)
    .where('change_id', '=', job.changeId)
    .where('seq', '=', job.seq)
    .where('lease_owner', '=', workerId)
    .execute();
}

/** After a failed job: frees the lease if it can; the job's own error is what counts, and a lease left behind lapses. */
async function releaseLease(db: Kysely<Database>, job: ChangeJob, workerId: string): Promise<void> {
  await freeLease(db, job, workerId).catch(() => undefined);
}

/**
 * Queues, inside the transaction that records `changes` as final, the changes
 * that waited on them and now have all their dependencies final. The waiting
 * rows are locked first: of two dependencies settling at once, the second
 * waits for the first to commit and then reads its state, so one of them
 * always queues the dependent.
 */
async function queueReadyDependents(trx: Kysely<Database>, boss: JobSender, plan: Plan, changes: readonly Change[]): Promise<number> {
  const { dependents: index } = planIndex(plan);
  const dependents = [...new Map(changes.flatMap((c) => index.get(c.id) ?? []).map((d) => [d.id, d])).values()];
  if (dependents.length === 0) return 0;
  await trx
    .selectFrom('plan_changes')
    .select('change_id')
    .where('plan_id', '=', plan.id)
    .where('change_id', 'in', dependents.map((d) => d.id))
    .orderBy('change_id')
    .forUpdate()
    .execute();
  const ids = [...new Set(dependents.flatMap((d) => [d.id, ...d.dependsOn]))];
  const rows = await trx.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', plan.id).where('change_id', 'in', ids).execute();
  const state = new Map(rows.map((r) => [r.change_id, r.state as ChangeState]));
  const ready = dependents.filter((d) => state.get(d.id) === 'planned' && d.dependsOn.every((id) => FINAL.includes(state.get(id)!)));
  await queueCurrent({ db: trx, boss }, plan.id, ready.map((d) => d.id), undefined, trx);
  return ready.length;
}

/** Queues, at their current seq, the changes among `changes` still planned whose dependencies are all final. */
async function queueIfReady(deps: ChangeJobDeps, plan: Plan, changes: readonly Change[]): Promise<void> {
  const ids = [...new Set(changes.flatMap((c) => [c.id, ...c.dependsOn]))];
  const rows = await deps.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', plan.id).where('change_id', 'in', ids).execute();
  const state = new Map(rows.map((r) => [r.change_id, r.state as ChangeState]));
  const ready = changes.filter((c) => state.get(c.id) === 'planned' && c.dependsOn.every((id) => FINAL.includes(state.get(id)!)));
  await queueCurrent(deps, plan.id, ready.map((c) => c.id));
}

/**
 * Closes the plan when no change is left unfinished. Runs after the change's
 * commit, so of two last changes finishing at once at least one sees the
 * other final. A worker killed between that commit and this leaves the plan
 * 'applying' with nothing left to run; whoever waits for the plan (executePlan)
 * runs this again when it finds every change settled.
 */
export async function closePlanIfDone(deps: Pick<ChangeJobDeps, 'db' | 'actor' | 'now'>, planId: string): Promise<void> {
  // Stops at the first unfinished change, so it stays cheap while a large plan is under way.
  const unfinished = await deps.db
    .selectFrom('plan_changes')
    .select('change_id')
    .where('plan_id', '=', planId)
    .where('state', 'not in', FINAL)
    .limit(1)
    .executeTakeFirst();
  if (unfinished) return;
  const failed = await deps.db.selectFrom('plan_changes').select('change_id').where('plan_id', '=', planId).where('state', 'in', ['parked', 'blocked']).limit(1).executeTakeFirst();
  const status = failed ? 'partial' : 'applied';
  const now = (deps.now ?? (() => new Date()))();
  const updated = await deps.db.updateTable('plans').set({ status, updated_at: now.toISOString() }).where('id', '=', planId).where('status', '=', 'applying').executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) await appendAudit(deps.db, { actor: deps.actor, action: `plan.${status}`, subject: `plan:${planId}`, trigger: 'job', details: {} }, now);
}

/** Queues a job at each change's current seq (a no-op when that job exists); with `trx`, as part of that transaction. */
export async function queueCurrent(deps: Pick<ChangeJobDeps, 'db' | 'boss'>, planId: string, changeIds: readonly string[], startAfter?: Date, trx?: Kysely<Database>): Promise<void> {
  if (changeIds.length === 0) return;
  const runs = await deps.db.selectFrom('change_runs').select(['change_id', 'seq', 'priority']).where('plan_id', '=', planId).where('change_id', 'in', changeIds).execute();
  const jobs = runs.map((r) => {
    const data = { planId, changeId: r.change_id, seq: r.seq };
    return { id: changeJobId(data), data, priority: r.priority, ...(startAfter ? { startAfter } : {}) };
  });
  await deps.boss.insert(QUEUE.applyChange, jobs, trx ? inTransaction(trx) : undefined);
}

/**
 * Level-triggered safety net, run on a schedule: re-queues pending changes (a
 * manual task may have been closed), planned changes whose dependencies are
 * final, and running changes whose lease and successor are both long gone;
 * and closes plans whose every change is final (closePlanIfDone).
 */
export async function sweepChanges(deps: Pick<ChangeJobDeps, 'db' | 'boss' | 'now'>, graceMs = 120_000): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const stalled = new Date(now.getTime() - graceMs);
  const candidates = await deps.db
    .selectFrom('plan_changes as pc')
    .innerJoin('change_runs as cr', (j) => j.onRef('cr.plan_id', '=', 'pc.plan_id').onRef('cr.change_id', '=', 'pc.change_id'))
    .innerJoin('plans as p', 'p.id', 'pc.plan_id')
    .select(['pc.plan_id', 'pc.change_id', 'pc.state'])
    .where('p.status', '=', 'applying')
    .where((eb) =>
      eb.or([
        eb('pc.state', '=', 'pending'),
        eb('pc.state', '=', 'planned'),
        eb.and([eb('pc.state', '=', 'running'), eb.or([eb('cr.lease_until', 'is', null), eb('cr.lease_until', '<', stalled)]), eb.or([eb('cr.next_at', 'is', null), eb('cr.next_at', '<', stalled)])]),
      ]),
    )
    .limit(2000)
    .execute();
  const byPlan = new Map<string, string[]>();
  for (const c of candidates) byPlan.set(c.plan_id, [...(byPlan.get(c.plan_id) ?? []), c.change_id]);
  let queued = 0;
  for (const [planId, ids] of byPlan) {
    const plan = await loadPlan(deps.db, planId);
    const states = new Map((await deps.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', planId).execute()).map((r) => [r.change_id, r.state as ChangeState]));
    const runnable = ids.filter((id) => {
      if (states.get(id) !== 'planned') return true;
      return plan.changes.find((c) => c.id === id)!.dependsOn.every((d) => FINAL.includes(states.get(d)!));
    });
    await queueCurrent(deps, planId, runnable);
    queued += runnable.length;
  }
  await closeFinishedPlans(deps);
  return queued;
}

/**
 * Closes the plans still 'applying' with no unfinished change: their last
 * change's worker was killed between recording it and closing the plan, and
 * no process waits for the plan (a worker's replan, not `jml apply`), so
 * nothing else would ever close it.
 */
async function closeFinishedPlans(deps: Pick<ChangeJobDeps, 'db' | 'now'>): Promise<void> {
  const finished = await deps.db
    .selectFrom('plans as p')
    .select('p.id')
    .where('p.status', '=', 'applying')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('plan_changes as pc').select('pc.change_id').whereRef('pc.plan_id', '=', 'p.id').where('pc.state', 'not in', FINAL))))
    .limit(2000)
    .execute();
  for (const { id } of finished) await closePlanIfDone({ ...deps, actor: 'scheduler' }, id);
}

/**
 * A plan's jobs arrive in batches that run at once: they share one load of
 * the plan (the promise is cached, not its result), which on PGlite's single
 * connection is the difference between one read and twenty.
 */
async function cachedPlan(db: Kysely<Database>, planId: string, cache?: Map<string, Promise<Plan>>): Promise<Plan> {
  const hit = cache?.get(planId);
  if (hit) return hit;
  const loading = loadPlan(db, planId);
  if (cache) {
    if (cache.size > 100) cache.clear();
    cache.set(planId, loading);
    loading.catch(() => cache.delete(planId));
  }
  return loading;
}


/**
 * Sends again, now, the changes of `system` that wait for a later turn (a
 * quarantine deferral or a backoff): called when the system is released or
 * passes its health check, so its changes resume at once instead of at the
 * turn they were given while it was down. Returns how many were re-queued.
 */
export async function resumeSystem(deps: Pick<ChangeJobDeps, 'db' | 'boss' | 'now'>, system: string): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const waiting = await deps.db
    .selectFrom('change_runs as cr')
    .innerJoin('plans as p', 'p.id', 'cr.plan_id')
    .select(['cr.plan_id', 'cr.change_id', 'cr.seq'])
    .where('p.status', '=', 'applying')
    .where('cr.system', '=', system)
    .where('cr.lease_owner', 'is', null)
    .where('cr.next_at', '>', now)
    .execute();
  for (const run of waiting) await requeueNow(deps, run.plan_id, run.change_id, run.seq, null, now);
  return waiting.length;
}

/**
 * Takes back the changes leased by a process on this host that no longer
 * runs (a `jml apply` or worker killed mid-change): each gets a new job at
 * once instead of waiting for its lease and job to expire. The job reads back
 * before acting, so what the dead process did is confirmed, not redone.
 */
export async function recoverAbandonedChanges(deps: Pick<ChangeJobDeps, 'db' | 'boss' | 'now'>, host: string): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const leased = await deps.db
    .selectFrom('change_runs')
    .select(['plan_id', 'change_id', 'seq', 'lease_owner'])
    .where('lease_owner', 'like', `${host}:%`)
    .where('lease_until', '>', now)
    .execute();
  let recovered = 0;
  for (const run of leased) {
    if (processAlive(Number(run.lease_owner!.slice(host.length + 1)))) continue;
    if (await requeueNow(deps, run.plan_id, run.change_id, run.seq, run.lease_owner, now)) recovered++;
  }
  return recovered;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Moves the run to its next seq and sends that job now, if the run is still at `seq` (held by `leaseOwner`). */
async function requeueNow(deps: Pick<ChangeJobDeps, 'db' | 'boss'>, planId: string, changeId: string, seq: number, leaseOwner: string | null, now: Date): Promise<boolean> {
  const next = { planId, changeId, seq: seq + 1 };
  return deps.db.transaction().execute(async (trx) => {
    let update = trx
      .updateTable('change_runs')
      .set({ seq: next.seq, lease_owner: null, lease_until: null, next_at: null })
      .where('plan_id', '=', planId)
      .where('change_id', '=', changeId)
      .where('seq', '=', seq);
    update = leaseOwner === null ? update.where('lease_owner', 'is', null) : update.where('lease_owner', '=', leaseOwner);
    const moved = await update.returning('priority').executeTakeFirst();
    if (!moved) return false;
    await deps.boss.send(QUEUE.applyChange, next, { id: changeJobId(next), startAfter: now, priority: moved.priority, ...inTransaction(trx) });
    return true;
  });
}

/**
 * Looks again at the plan's changes that wait on people (open tasks): each is
 * marked running and queued, so a task closed since is confirmed, and the
 * changes behind it follow. What a new `jml apply` of the plan does first.
 */
export async function recheckPending(deps: Pick<ChangeJobDeps, 'db' | 'boss' | 'now'>, planId: string): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  return deps.db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('plan_changes')
      .set({ state: 'running', updated_at: now.toISOString() })
      .where('plan_id', '=', planId)
      .where('state', '=', 'pending')
      .returning('change_id')
      .execute();
    await queueCurrent({ db: trx, boss: deps.boss }, planId, rows.map((r) => r.change_id), undefined, trx);
    return rows.length;
  });
}
