/**
 * Job workers: `startWorkers` is what `jml worker` and `jml serve` call. It
 * starts pg-boss on the store, creates the queues, registers batch workers
 * and (unless told not to) the schedules. Several processes may run it
 * against one PostgreSQL: pg-boss hands each job to one of them, and
 * change_runs keeps any change from being done twice.
 */
import os from 'node:os';
import type { PgBoss, Job, JobResult } from 'pg-boss';
import type { ChangeSecrets, Connector } from '../connectors/connector.ts';
import type { Change, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import type { ApplyChangeDeps } from '../app/apply-change.ts';
import type { Store } from '../store/open-store.ts';
import type { PriorityLane } from '../store/priority-lane.ts';
import { asUrgentCall } from '../connectors/call-slots.ts';
import { createHeldChanges } from './held-changes.ts';
import { probeQuarantined, type QuarantinePolicy } from '../app/quarantine.ts';
import { stderrAlertSink, type AlertSink } from '../app/alert.ts';
import { DEFAULT_APPLY_EXPIRE_SECONDS, startJobBoss } from './job-boss.ts';
import { recoverAbandonedChanges, resumeSystem, runChangeJobs, sweepChanges, type ChangeJobDeps, type ChangeJobOutcome, type JobRetryPolicy } from './change-job.ts';
import { changeJobSchema, LEAVER_LOCKOUT_PRIORITY, QUEUE, type ChangeJob, type QueueName } from './job-queues.ts';
import { registerSchedules, type ScheduleHooks, type ScheduleSettings } from './schedules.ts';
import { registerAuditStreams, type AuditStreamJobDeps } from './audit-stream-job.ts';

export interface WorkerOptions {
  /** Jobs fetched at once per worker loop (a one-job fetch waits a polling interval each time). */
  readonly batchSize?: number;
  /** Fetch loops per process. */
  readonly concurrency?: number;
  /**
   * Further fetch loops that take only the steps that lock leavers out
   * (default 1), so that a leaver does not wait for a batch of other changes
   * in hand to finish, nor for other leavers' grant clean-up.
   */
  readonly leaverLoops?: number;
  readonly pollingIntervalSeconds?: number;
  /** Seconds before an active apply job is given to another worker; also the change lease. */
  readonly applyExpireSeconds?: number;
  readonly superviseIntervalSeconds?: number;
  readonly retry?: Partial<JobRetryPolicy>;
  readonly quarantine?: Partial<QuarantinePolicy>;
  /** A connector call that takes longer is abandoned as a retryable timeout (default: 40 % of the apply expiry). */
  readonly callTimeoutMs?: number;
  /** Run cron schedules in this process (default true); the queues' workers run either way. */
  readonly schedules?: boolean;
  readonly scheduleSettings?: Partial<ScheduleSettings>;
  /**
   * Work the apply queues only (changes, sweep, quarantine probe): what `jml apply`
   * runs in-process while it waits for its plan. Schedules' queues are left to `jml worker`.
   */
  readonly applyOnly?: boolean;
  /** SIEM streams this process runs (`audit.streams`; not with applyOnly), and their timing for tests. */
  readonly auditStreams?: AuditStreamJobDeps['streams'];
  readonly auditStreamTiming?: Pick<AuditStreamJobDeps, 'sliceMs' | 'idleMs' | 'backoff' | 'onError'>;
}

export interface WorkerDeps {
  /** With the store's `listen` (PostgreSQL), jobs sent by other processes wake these workers at once. */
  readonly store: Pick<Store, 'db' | 'backend' | 'listen' | 'lane'>;
  readonly connectorFor: (system: string | null) => Connector | undefined;
  /** Tasks for a system's owner, for change kinds its connector does not carry out. */
  readonly tasksFor?: ApplyChangeDeps['tasksFor'];
  /** Policy systems this process did not open: their changes are left to a process that did (see ChangeJobDeps). */
  readonly leftToOthers?: ChangeJobDeps['leftToOthers'];
  /** The policy in force, to judge confirmed grants by its SoD rules at once (src/app/sod-findings.ts). */
  readonly policy?: () => Policy;
  readonly actor?: string;
  readonly now?: () => Date;
  readonly alert?: AlertSink;
  readonly hooks?: ScheduleHooks;
  readonly options?: WorkerOptions;
  /** Called after each change job, for progress output and benchmarks. */
  readonly onChange?: (outcome: ChangeJobOutcome, job: { planId: string; changeId: string }) => void;
}

export interface Workers {
  readonly boss: PgBoss;
  readonly workerId: string;
  /**
   * Makes this process's workers of `queue` fetch now instead of after their
   * polling interval: called after this process sent to the queue and committed.
   */
  wake(queue: QueueName): void;
  /**
   * A plan this process has just recorded, as recorded: its jobs here run from it instead of reading
   * it back from the store. At 200,000 changes that read was ~1.3 s before the first change on
   * PostgreSQL, and a second copy of the plan in memory.
   */
  holdPlan(plan: Plan): void;
  /** Stops fetching, waits for jobs in hand (up to `timeoutMs`), stops pg-boss. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the job workers of this process.
 * @example
 * const workers = await startWorkers({ store, connectorFor, hooks: { applyDueEvents } });
 * process.on('SIGTERM', () => workers.stop());
 */
export async function startWorkers(deps: WorkerDeps): Promise<Workers> {
  const options = deps.options ?? {};
  checkWorkerOptions(options);
  const boss = await startJobBoss(deps.store.db, deps.store.backend, {
    applyExpireSeconds: options.applyExpireSeconds ?? DEFAULT_APPLY_EXPIRE_SECONDS,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 10,
    schedule: !options.applyOnly && (options.schedules ?? true),
    listen: deps.store.listen,
  });
  const stopping = new AbortController();
  try {
    return await workOn(boss, deps, stopping);
  } catch (error) {
    // The loops that did start finish the jobs in hand and stop, as at a normal stop; left running,
    // they and pg-boss's timers would keep the process alive after the error.
    await stopWorkers(boss, stopping).catch(() => undefined);
    throw error;
  }
}

/** Options a worker cannot run with, refused before anything starts (a typo in `jml worker --batch`). */
function checkWorkerOptions(options: WorkerOptions): void {
  const counts = { batchSize: 1, concurrency: 1, leaverLoops: 0 } as const;
  for (const [name, least] of Object.entries(counts) as [keyof typeof counts, number][]) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < least)) {
      throw new JmlError('invalid_input', `worker option ${name} must be a whole number of at least ${least}, not ${value}`);
    }
  }
}

/** The fetch loops, schedules and start-up work of a worker whose pg-boss has started. */
async function workOn(boss: PgBoss, deps: WorkerDeps, stopping: AbortController): Promise<Workers> {
  const options = deps.options ?? {};
  const applyExpireSeconds = options.applyExpireSeconds ?? DEFAULT_APPLY_EXPIRE_SECONDS;
  const workerId = `${os.hostname()}:${process.pid}`;
  const alert = deps.alert ?? stderrAlertSink;
  const planCache = new Map<string, Promise<Plan>>();
  // One pg-boss worker per fetch loop, so that each can be woken by its id (Workers.wake).
  const wakeable = new Map<string, string[]>();
  const wake = (queue: QueueName) => {
    for (const id of wakeable.get(queue) ?? []) boss.notifyWorker(id);
  };
  const lane = deps.store.lane;
  const changeDeps = {
    db: deps.store.db,
    boss,
    workerId,
    ...(lane ? { lane } : {}),
    heldChanges: createHeldChanges(),
    // The lease lapses a little before pg-boss re-offers the job, so the retried job can claim it.
    leaseMs: Math.max(1000, applyExpireSeconds * 1000 - 500),
    actor: deps.actor ?? `worker:${workerId}`,
    // Other changes' connector calls wait while a leaver's are in flight: a leaver's call to a system
    // must not queue behind a joiner batch's sixteen to the same system.
    connectorFor: lane ? givingWayTo(lane, deps.connectorFor) : deps.connectorFor,
    ...(deps.tasksFor ? { tasksFor: deps.tasksFor } : {}),
    alert,
    ...(deps.now ? { now: deps.now } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.quarantine ? { quarantine: options.quarantine } : {}),
    ...(deps.leftToOthers ? { leftToOthers: deps.leftToOthers } : {}),
    ...(deps.policy ? { policy: deps.policy } : {}),
    // The changes a settled one queued are taken now, not a poll later.
    onDependentsQueued: () => wake(QUEUE.applyChange),
    // A hung connector call must end before the lease does.
    callTimeoutMs: options.callTimeoutMs ?? Math.max(500, Math.floor(applyExpireSeconds * 1000 * 0.4)),
  };
  // A notification only makes a worker look sooner: it keeps its poll, which finds jobs that
  // became due later (a retry's backoff, a deferral) and any whose notification was lost.
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? 0.5;
  const polling = { pollingIntervalSeconds, notifyPollingIntervalSeconds: pollingIntervalSeconds, burstWhenBatchFull: true };

  const handleChangeBatch = async (jobs: Job<unknown>[]): Promise<JobResult[]> => {
    const results: JobResult[] = [];
    const valid: { readonly id: string; readonly data: ChangeJob }[] = [];
    for (const job of jobs) {
      const parsed = changeJobSchema.safeParse(job.data);
      // A malformed payload will never succeed: dead-letter it rather than retry.
      if (parsed.success) valid.push({ id: job.id, data: parsed.data });
      else results.push({ id: job.id, status: 'deadletter', output: { error: parsed.error.message } });
    }
    // The batch shares its store work: one claim, one record per plan (runChangeJobs).
    const outcomes = await runChangeJobs(changeDeps, valid.map((v) => v.data), planCache);
    for (const [i, result] of outcomes.entries()) {
      const { id, data } = valid[i]!;
      if ('error' in result) {
        results.push({ id, status: 'failed', output: { error: result.error.message } });
        continue;
      }
      deps.onChange?.(result.outcome, data);
      results.push({ id, status: 'completed', output: { outcome: result.outcome } });
    }
    // The changes settled ones queued are taken at once: changeDeps.onDependentsQueued wakes the loops.
    return results;
  };
  const applyWorkers: string[] = [];
  const loops = options.concurrency ?? 2;
  const applyOptions = { batchSize: options.batchSize ?? 50, localConcurrency: 1, perJobResults: true, ...polling };
  for (let loop = 0; loop < loops; loop++) applyWorkers.push(await boss.work(QUEUE.applyChange, applyOptions, handleChangeBatch));
  for (let loop = 0; loop < (options.leaverLoops ?? 1); loop++) {
    // A lock-out loop's statements go first on the store's connection (the loop keeps the mark it
    // was started with); the steps it takes are urgent work (runChangeJobs). Grant clean-up is left
    // to the other loops, which take it before any non-leaver change: a batch of clean-up calls to a
    // slow system must not stand between the next leaver and their lock-out.
    const leaverLoop = () => boss.work(QUEUE.applyChange, { ...applyOptions, minPriority: LEAVER_LOCKOUT_PRIORITY }, handleChangeBatch);
    applyWorkers.push(await (lane ? lane.preferred(leaverLoop) : leaverLoop()));
  }
  wakeable.set(QUEUE.applyChange, applyWorkers);
  await boss.work(QUEUE.applySweep, polling, async () => {
    await sweepChanges(changeDeps);
  });
  await boss.work(QUEUE.quarantineProbe, polling, async () => {
    const released = await probeQuarantined(deps.store.db, (system) => deps.connectorFor(system), (deps.now ?? (() => new Date()))());
    for (const system of released) await resumeSystem(changeDeps, system);
  });
  if (!options.applyOnly) {
    const scheduled = await registerSchedules(
      boss,
      { db: deps.store.db, connectorFor: deps.connectorFor, alert, hooks: deps.hooks ?? {}, ...(deps.now ? { now: deps.now } : {}), ...(lane ? { lane } : {}) },
      options.scheduleSettings ?? {},
      polling,
      options.schedules ?? true,
    );
    for (const [queue, id] of scheduled) wakeable.set(queue, [id]);
    await registerAuditStreams(boss, { db: deps.store.db, streams: options.auditStreams ?? [], signal: stopping.signal, ...options.auditStreamTiming }, polling, options.schedules ?? true);
  }
  // Changes a killed process on this host was working on are taken back now, not when their leases lapse.
  await recoverAbandonedChanges(changeDeps, os.hostname());
  // A worker killed after recording a change but before queueing the changes that waited on it
  // leaves them planned with nothing queued; the sweep finds them. Sweep once at start, so a
  // worker (re)started after a crash carries on at once rather than at the next cron minute.
  await boss.send(QUEUE.applySweep, {});
  return {
    boss,
    workerId,
    wake,
    holdPlan: (plan) => void planCache.set(plan.id, Promise.resolve(plan)),
    stop: (timeoutMs) => stopWorkers(boss, stopping, timeoutMs),
  };
}

/** Stops the fetch loops, waits for the jobs in hand (up to `timeoutMs`), stops pg-boss. */
async function stopWorkers(boss: PgBoss, stopping: AbortController, timeoutMs = 10_000): Promise<void> {
  stopping.abort();
  // pg-boss's graceful stop looks every 500 ms whether its workers have finished the jobs in hand.
  // Each is stopped here first and waited for exactly: on PGlite's one connection a worker's fetch
  // was mostly in flight at stop, and `jml apply` waited the whole 500 ms (0.5 s of a 10 s apply).
  const started = performance.now();
  const queues = [...new Set(boss.getWipData().map((w) => w.name))];
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(queues.map((queue) => boss.offWork(queue, { wait: true }))),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  // What is left of the time allowed, so that the two waits together keep to it (pg-boss allows at least 1 s).
  return boss.stop({ graceful: true, timeout: Math.max(0, timeoutMs - (performance.now() - started)), close: true });
}

/**
 * The connectors of `connectorFor`, each call of which first gives way to
 * urgent work in flight (a leaver's changes); urgent work's own calls go at once,
 * and before other calls waiting for the connector's request slots.
 */
function givingWayTo(lane: Pick<PriorityLane, 'giveWay' | 'isUrgent'>, connectorFor: (system: string | null) => Connector | undefined): (system: string | null) => Connector | undefined {
  const wrapped = new WeakMap<Connector, Connector>();
  // Urgent work's calls also go first among the calls waiting for a connector's request slots (call-slots.ts).
  const marked = <T>(call: () => T): T => (lane.isUrgent() ? asUrgentCall(call) : call());
  return (system) => {
    const connector = connectorFor(system);
    if (!connector) return undefined;
    let giving = wrapped.get(connector);
    if (!giving) {
      const apply = connector.apply;
      giving = {
        describe: connector.describe.bind(connector),
        validate: connector.validate.bind(connector),
        list: connector.list.bind(connector),
        readBack: async (change) => (await lane.giveWay(), marked(() => connector.readBack(change))),
        // Kept, or every batch would be read back one change at a time.
        ...(connector.readBackMany ? { readBackMany: async (changes: readonly Change[]) => (await lane.giveWay(), marked(() => connector.readBackMany!(changes))) } : {}),
        ...(apply ? { apply: async (change: Change, secrets?: ChangeSecrets) => (await lane.giveWay(), marked(() => apply.call(connector, change, secrets))) } : {}),
        ...(connector.server ? { server: connector.server.bind(connector) } : {}),
        ...(connector.close ? { close: connector.close.bind(connector) } : {}),
      };
      wrapped.set(connector, giving);
    }
    return giving;
  };
}
