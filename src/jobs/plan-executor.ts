/**
 * The one executor, for whoever applies a plan by hand (`jml apply`, the
 * console): the plan is submitted to the durable change queue that `jml
 * worker` runs, and this process works that queue itself while it waits, so
 * an apply gets the same retries, quarantine, parked-change findings and
 * alerts as a scheduled one. A process killed mid-apply leaves its plan in
 * the queue; the next apply (or any worker) finishes it, reading back before
 * acting, so nothing is done twice.
 *
 * Waiting ends when nothing of the plan can move without help: every change
 * settled, or waiting on a person (a task) or on a quarantined system.
 */
import type { Connector } from '../connectors/connector.ts';
import type { Change, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import type { ApplyChangeDeps } from '../app/apply-change.ts';
import type { AlertSink } from '../app/alert.ts';
import { readPlanProgress, readPlanTally, type PlanProgress, type PlanTally } from '../app/plan-progress.ts';
import { loadPlan } from '../app/plan-record-store.ts';
import type { Store } from '../store/open-store.ts';
import { releaseQuarantine, type SystemHealth } from '../app/quarantine.ts';
import { closePlanIfDone, FINAL, recheckPending, resumeSystem, submitPlan, type ChangeJobOutcome } from './change-job.ts';
import { startJobBoss } from './job-boss.ts';
import { startWorkers, type WorkerDeps, type WorkerOptions, type Workers } from './workers.ts';

export interface PlanExecutorDeps {
  readonly store: Pick<Store, 'db' | 'backend'>;
  readonly connectorFor: (system: string | null) => Connector | undefined;
  readonly tasksFor?: ApplyChangeDeps['tasksFor'];
  /** Policy systems whose connectors were not opened for this apply: another plan's changes for them stay queued. */
  readonly leftToOthers?: (system: string) => boolean;
  /** The policy in force: a confirmed grant that completes an SoD conflict is found at once. */
  readonly policy?: ApplyChangeDeps['policy'];
  readonly actor: string;
  readonly now?: () => Date;
  readonly alert?: AlertSink;
  /** Options of the in-process worker (retry, quarantine, lease); the apply queues only. */
  readonly options?: Omit<WorkerOptions, 'applyOnly' | 'schedules'>;
  /** Called as the plan moves (every poll), for a progress bar. */
  readonly onProgress?: (progress: Pick<PlanProgress, 'planId' | 'total' | 'settled' | 'active'>) => void;
  /** How often the plan's records are read while waiting, at least (default: 250 ms, longer for a large plan; longer still while its tally is slow, see nextPollMs). */
  readonly pollMs?: number;
}

/** What an apply ended with: the plan's progress when nothing more could move. */
export type ApplyReport = PlanProgress;

/** An apply under way: the plan is in the queue; `finished` settles when nothing more can move. */
export interface RunningApply {
  readonly planId: string;
  readonly finished: Promise<ApplyReport>;
}

/**
 * Submits `plan` to the durable queue and starts working it in this process;
 * returns once the plan is queued. Refuses a plan whose inputs changed since
 * it was computed (nothing is queued then). What the console does: answer at
 * once, let the person watch the progress.
 * @example
 * const run = await startPlan({ store, connectorFor, actor: 'api:alice' }, plan, () => planner.currentFingerprint(scope));
 * void run.finished.then((report) => console.log(report.counts));
 */
export async function startPlan(deps: PlanExecutorDeps, plan: Plan, currentFingerprint: () => Promise<string>): Promise<RunningApply> {
  checkPlanShape(plan);
  const current = await currentFingerprint();
  if (current !== plan.fingerprint) {
    throw new JmlError('stale_plan', `plan ${plan.id} is stale: its inputs changed since it was computed; compute a new plan`, {
      details: { plan: plan.id, planned: plan.fingerprint, current },
    });
  }
  const nudge = planNudge(plan.id);
  const workers = await startApplyWorker(deps, nudge.onChange);
  try {
    const queue = { db: deps.store.db, boss: workers.boss, actor: deps.actor, ...(deps.now ? { now: deps.now } : {}) };
    // Held only as recorded just now: a plan recorded before (a resumed or repeated apply) runs as stored.
    if ((await submitPlan(queue, plan)).recorded) workers.holdPlan(plan);
    await recheckPending(queue, plan.id);
  } catch (error) {
    await workers.stop();
    throw error;
  }
  const finished = waitForPlan(deps, plan, nudge).finally(() => workers.stop());
  return { planId: plan.id, finished };
}

/**
 * Submits `plan` to the durable queue and works it until nothing more can
 * move. Refuses a plan whose inputs changed since it was computed.
 * @example
 * const report = await executePlan({ store, connectorFor, actor: 'cli:alice' }, plan, () => planner.currentFingerprint(scope));
 * report.counts.confirmed; // 12
 */
export async function executePlan(deps: PlanExecutorDeps, plan: Plan, currentFingerprint: () => Promise<string>): Promise<ApplyReport> {
  return (await startPlan(deps, plan, currentFingerprint)).finished;
}

/**
 * Works the queue until the plans still being applied (left by a killed
 * process, or waiting on a released system) can move no further.
 * Returns their reports, oldest first.
 */
export async function resumeUnfinishedPlans(deps: PlanExecutorDeps): Promise<ApplyReport[]> {
  const rows = await deps.store.db.selectFrom('plans').select('id').where('status', '=', 'applying').orderBy('created_at').execute();
  if (rows.length === 0) return [];
  const plans = await Promise.all(rows.map((r) => loadPlan(deps.store.db, r.id)));
  // Each wait ends as this process settles its plan's last change, as a new apply's does.
  const nudges = new Map(plans.map((plan) => [plan.id, planNudge(plan.id)]));
  return withWorker(deps, (outcome, job) => nudges.get(job.planId)?.onChange(outcome, job), async (workers) => {
    const reports: ApplyReport[] = [];
    for (const plan of plans) await recheckPending({ db: deps.store.db, boss: workers.boss, ...(deps.now ? { now: deps.now } : {}) }, plan.id);
    for (const plan of plans) reports.push(await waitForPlan(deps, plan, nudges.get(plan.id)));
    return reports;
  });
}

/**
 * The systems whose changes the plans still being applied have not settled
 * (their connectors are what resuming needs); null when no plan is being applied.
 */
export async function unfinishedPlanSystems(db: Store['db']): Promise<string[] | null> {
  const applying = await db.selectFrom('plans').select('id').where('status', '=', 'applying').limit(1).executeTakeFirst();
  if (!applying) return null;
  const rows = await db
    .selectFrom('plan_changes as pc')
    .innerJoin('plans as p', 'p.id', 'pc.plan_id')
    .select('pc.system')
    .distinct()
    .where('p.status', '=', 'applying')
    .where('pc.state', 'not in', FINAL)
    .execute();
  return rows.map((r) => r.system).filter((s): s is string => s !== null);
}

/** Starts an in-process worker on the apply queues, runs `fn`, and stops it (finishing the jobs in hand). */
async function withWorker<T>(deps: PlanExecutorDeps, onChange: WorkerDeps['onChange'], fn: (workers: Workers) => Promise<T>): Promise<T> {
  const workers = await startApplyWorker(deps, onChange);
  try {
    return await fn(workers);
  } finally {
    await workers.stop();
  }
}

/**
 * Change jobs an apply's worker loop takes at once (`jml worker --batch` defaults to 20). Each
 * batch pays the store a fixed set of statements (fetch, claim, two records, completion) and
 * the directory a fixed set of searches, whatever its size: at 20,000 people on PostgreSQL,
 * batches of 200 against 50 took the apply from 364–389 to 537–577 changes/s and PostgreSQL's
 * CPU per change from 1.19–1.23 to 0.92–0.97 ms (load 8–9), and the grants of a batch that
 * join one group go to the directory as one modify (ldap-member-batch.ts).
 */
export const APPLY_BATCH_SIZE = 200;

/**
 * How often (seconds) the apply's own worker runs pg-boss's supervision: its queue statistics, which
 * count every job kept, and its search for expired jobs. At the default 10 s a first provisioning of
 * 100,000 people spent 12 s of PostgreSQL's CPU on it (28 passes, ~0.43 s each as the jobs grew to
 * 300,000). An apply's jobs expire after 2 minutes and a killed process's changes on this host are
 * taken back at start (recoverAbandonedChanges); a killed process's on another host are found up
 * to 20 s later than at 10 s when no `jml worker` (which keeps its 10 s) runs.
 */
export const APPLY_SUPERVISE_SECONDS = 30;

function startApplyWorker(deps: PlanExecutorDeps, onChange?: WorkerDeps['onChange']): Promise<Workers> {
  return startWorkers({
    ...(onChange ? { onChange } : {}),
    store: deps.store,
    connectorFor: deps.connectorFor,
    ...(deps.tasksFor ? { tasksFor: deps.tasksFor } : {}),
    ...(deps.leftToOthers ? { leftToOthers: deps.leftToOthers } : {}),
    ...(deps.policy ? { policy: deps.policy } : {}),
    actor: deps.actor,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.alert ? { alert: deps.alert } : {}),
    options: { batchSize: APPLY_BATCH_SIZE, superviseIntervalSeconds: APPLY_SUPERVISE_SECONDS, ...deps.options, applyOnly: true },
  });
}

/**
 * Polls the plan's tally (counts by state) until no change is planned or
 * running, or some may be held (a pending task, a quarantine); only then
 * reads the whole progress, which decides whether anything can still move.
 */
async function waitForPlan(deps: PlanExecutorDeps, plan: Plan, nudge?: PlanNudge): Promise<ApplyReport> {
  const pollMs = deps.pollMs ?? basePollMs(plan.changes.length);
  // What the progress bar was last shown: between two looks it moves on from there, never back.
  let shown = { settled: 0, active: plan.changes.length };
  const show = (settled: number, active: number) => {
    shown = { settled: Math.min(plan.changes.length, Math.max(shown.settled, settled)), active };
    deps.onProgress?.({ planId: plan.id, total: plan.changes.length, ...shown });
  };
  for (;;) {
    const started = performance.now();
    nudge?.reset();
    let tally: PlanTally = await readPlanTally(deps.store.db, plan);
    const tallyMs = performance.now() - started;
    if (tally.status === 'applying' && tally.settled === tally.total) {
      // The last change is recorded; the plan's own record closes a moment later (or never, if its worker died).
      await closePlanIfDone({ db: deps.store.db, actor: deps.actor, ...(deps.now ? { now: deps.now } : {}) }, plan.id);
      tally = await readPlanTally(deps.store.db, plan);
    }
    if (tally.moving === 0 || tally.maybeHeld || tally.status !== 'applying') {
      const progress = await readPlanProgress(deps.store.db, plan);
      show(progress.settled, progress.active);
      if (progress.active === 0 || progress.status !== 'applying') return progress;
    } else {
      show(tally.settled, tally.moving);
    }
    const waitMs = nextPollMs(pollMs, tallyMs, tally);
    if (!nudge) {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      continue;
    }
    // Between two looks the progress shown moves with what this process settles. It may run a
    // little ahead (a change settled while the tally was read counts in both) until the next look.
    const seen = shown;
    await nudge.sleep(waitMs, tally.moving, (since) => show(seen.settled + since.settled, Math.max(0, seen.active - since.stopped)));
  }
}

/** Outcomes after which a change no longer counts as moving in the plan's tally: settled, or waiting on a person. */
const SETTLES: ReadonlySet<ChangeJobOutcome> = new Set(['already', 'confirmed', 'parked', 'blocked']);
const STOPS_MOVING: ReadonlySet<ChangeJobOutcome> = new Set([...SETTLES, 'pending']);

/** How many of a plan's changes this process saw stop moving since the last look, and how many of those settled. */
export interface StoppedSince {
  readonly stopped: number;
  readonly settled: number;
}

/** Cuts the wait between two looks at a plan short once the changes that were moving may all have stopped. */
export interface PlanNudge {
  /** For the apply's own worker: counts this plan's changes as they stop moving. */
  readonly onChange: (outcome: ChangeJobOutcome, job: { readonly planId: string }) => void;
  /** Called as a look at the plan begins: what stops moving from then on is counted anew. */
  reset(): void;
  /**
   * Waits `ms`, or less: until `moving` changes have stopped moving in this process since the last
   * reset. `onStop` hears each one that stops meanwhile, with the counts since the reset.
   */
  sleep(ms: number, moving: number, onStop?: (since: StoppedSince) => void): Promise<void>;
}

/**
 * The apply's own worker reports each change it settles, so the wait for a plan
 * ends as its last change is recorded, not at the next poll (up to 2 s later on a
 * large plan; 0.25–0.45 s of a 5 s apply of 4,000 changes). The poll stays: it
 * finds what other processes settled, and what this one saw before a reset.
 */
export function planNudge(planId: string): PlanNudge {
  let stopped = 0;
  let settled = 0;
  let waiting: { readonly moving: number; readonly wake: () => void; readonly onStop: ((since: StoppedSince) => void) | undefined } | null = null;
  return {
    onChange: (outcome, job) => {
      if (job.planId !== planId || !STOPS_MOVING.has(outcome)) return;
      stopped += 1;
      if (SETTLES.has(outcome)) settled += 1;
      waiting?.onStop?.({ stopped, settled });
      if (waiting && waiting.moving > 0 && stopped >= waiting.moving) waiting.wake();
    },
    reset: () => {
      stopped = 0;
      settled = 0;
    },
    sleep: (ms, moving, onStop) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waiting = null;
          resolve();
        };
        const timer = setTimeout(wake, ms);
        waiting = { moving, wake, onStop };
        // Nothing moving: nothing here can end the wait early (a task, a quarantine, another process's work).
        if (moving > 0 && stopped >= moving) wake();
      }),
  };
}

/** How often a plan of `changes` changes is looked at by default: 4 times a second, less often for a large plan (up to every 2 s). */
function basePollMs(changes: number): number {
  return Math.min(2_000, Math.max(250, Math.round(changes / 50)));
}

/**
 * The share of one database backend's time the tally may take while a plan moves. At a twentieth,
 * a first provisioning of 100,000 people spent 13.5 s of PostgreSQL's CPU on 104 tallies (~130 ms
 * each); the progress shown between two tallies now moves with what this process settles.
 */
const TALLY_SHARE = 0.02;

/**
 * How long the apply waits before reading its plan's tally again. The tally
 * counts every change of the plan, so its cost grows with the plan (~130-270 ms
 * at 200,000 changes on PostgreSQL, read every 2 s: up to an eighth of one
 * backend's time taken from the work): after a tally that took `tallyMs`,
 * the wait is long enough for the tally to take at most TALLY_SHARE of the
 * time, and never shorter than `baseMs`. Once few changes are left to move
 * (a fiftieth of the plan) it is `baseMs` again, so the end is seen promptly.
 * The end of what this process works is seen at once either way (planNudge);
 * what other processes settle is seen at the next tally.
 * @example
 * nextPollMs(2_000, 270, { total: 200_000, moving: 150_000 }); // 13230
 */
export function nextPollMs(baseMs: number, tallyMs: number, tally: Pick<PlanTally, 'total' | 'moving'>): number {
  if (tally.moving <= tally.total / 50) return baseMs;
  return Math.max(baseMs, Math.min(MAX_POLL_MS, Math.round((tallyMs * (1 - TALLY_SHARE)) / TALLY_SHARE)));
}

/**
 * The longest wait between two looks at a plan, however slow its tally (its time includes waiting
 * for a pooled connection): what other processes settle, and a system's quarantine, are seen within it.
 */
const MAX_POLL_MS = 15_000;

function checkPlanShape(plan: Plan): void {
  const ids = new Set<string>();
  for (const change of plan.changes) {
    if (ids.has(change.id)) throw new JmlError('invalid_input', `plan ${plan.id} has two changes with id ${change.id}`);
    ids.add(change.id);
  }
  for (const change of plan.changes) {
    const missing = change.dependsOn.find((id) => !ids.has(id));
    if (missing) throw new JmlError('invalid_input', `change ${change.id} depends on ${missing}, which is not in plan ${plan.id}`);
  }
  if (hasCycle(plan.changes)) throw new JmlError('invalid_input', `plan ${plan.id} has a dependency cycle`);
}

function hasCycle(changes: readonly Change[]): boolean {
  const byId = new Map(changes.map((c) => [c.id, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'visiting') return true;
    state.set(id, 'visiting');
    const cyclic = byId.get(id)!.dependsOn.some(visit);
    state.set(id, 'done');
    return cyclic;
  };
  return changes.some((c) => visit(c.id));
}

/**
 * Ends a system's quarantine (a person's decision, audited) and sends its
 * waiting changes again at once; whoever works the queue next (`jml apply`,
 * a worker) carries them out.
 * @example
 * await releaseSystem(store, 'directory', 'cli:alice');
 */
export async function releaseSystem(store: Pick<Store, 'db' | 'backend'>, system: string, by: string, now = new Date()): Promise<{ readonly health: SystemHealth; readonly resumed: number }> {
  const health = await releaseQuarantine(store.db, system, by, now);
  const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
  try {
    return { health, resumed: await resumeSystem({ db: store.db, boss, now: () => now }, system) };
  } finally {
    await boss.stop({ graceful: false, close: false });
  }
}
