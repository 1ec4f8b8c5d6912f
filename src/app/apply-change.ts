/**
 * One attempt at one change: re-read the target, do nothing if it already
 * holds, act, read back to confirm. The attempt returns its outcome; a
 * retryable failure comes back as `retry` and the caller (the change job)
 * decides when to try again, with the one backoff rule (domain/retry-backoff).
 * A call that throws or never returns means "outcome unknown": the next
 * attempt reads back first, so a crash between "did it" and "recorded it"
 * never duplicates anything.
 *
 * `applyChange` stands alone: it checks the change's dependencies in the
 * store itself.
 *
 * Routing is per change kind: a system's connector carries out the kinds its
 * `describe().provisions` lists; any other kind (revoke_sessions in an LDAP
 * directory) becomes a task for the system's owner through `tasksFor`, pending
 * until closed with evidence, so only the changes behind it wait.
 */
import type { Kysely } from 'kysely';
import type { Change, ChangeOutcome } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import type { SodViolation } from '../engine/sod.ts';
import { isJmlError } from '../domain/errors.ts';
import type { Connector, ReadBack } from '../connectors/connector.ts';
import type { ChangeHandler } from '../connectors/manual/task-fallback.ts';
import { appendAudit, type AuditEntryInput } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { AlertSink } from './alert.ts';
import { recordConfirmedChanges } from './observed-snapshot-update.ts';
import { alertSodViolations } from './sod-findings.ts';
import { changeRecords, SATISFIED, updateChanges, type ChangeRecord, type ChangeState, type ChangeUpdate } from './plan-record-store.ts';

export interface ApplyChangeDeps {
  readonly db: Kysely<Database>;
  /** The connector of a system; `null` asks for the one handling jml-internal changes (ownership, assets). */
  readonly connectorFor: (system: string | null) => Connector | undefined;
  /**
   * Carries out, as tasks for the system's owner, the change kinds a system's
   * connector does not provision. Without it such a change goes to the
   * connector, which refuses it (parked).
   */
  readonly tasksFor?: (system: string) => ChangeHandler | undefined;
  /** Recorded in the audit log as who applied. */
  readonly actor: string;
  readonly now?: () => Date;
  /** A connector call that takes longer is abandoned as a retryable timeout. */
  readonly callTimeoutMs?: number;
  /**
   * Connector calls of one `applyChanges` in flight at once (default 64; the connector bounds what
   * reaches its system). The acts of kinds a connector gathers (ConnectorDescription.gathers) start
   * all at once instead.
   */
  readonly connectorConcurrency?: number;
  /**
   * Runs inside the transaction that records final states, so what follows
   * from them (the jobs' next steps, the changes that waited on these) commits
   * with the records or not at all.
   */
  readonly onRecorded?: (trx: Kysely<Database>, settled: readonly { readonly change: Change; readonly state: ChangeState }[]) => Promise<void>;
  /**
   * The policy in force: with it, a confirmed grant that completes an SoD
   * conflict opens its finding and alerts at once, not at the next reconcile.
   */
  readonly policy?: () => Policy;
  readonly alert?: AlertSink;
}

/**
 * What one attempt ended with. `waiting`: its dependencies are not settled
 * yet (nothing recorded). `retry`: a retryable failure, recorded as the
 * change's last error; the change stays `running` until the caller tries again
 * or parks it.
 */
export type StepState = Exclude<ChangeState, 'planned' | 'running'> | 'waiting' | 'retry';

export interface ChangeResult {
  readonly changeId: string;
  readonly state: StepState;
  readonly attempts: number;
  readonly lastError: string | null;
  /** With `retry`: the system asked for this much patience (Retry-After). */
  readonly retryAfterMs?: number;
  /** With `retry`: the system could not be reached at all (refused, timed out), as opposed to a failing request. */
  readonly unreachable?: boolean;
}

type Failure = { readonly retryable: boolean; readonly message: string; readonly retryAfterMs?: number; readonly unreachable?: boolean };

/**
 * Applies one change of a recorded plan (see recordPlan).
 * @example
 * const result = await applyChange(deps, plan.id, plan.changes[0]);
 * result.state; // 'confirmed'
 */
export async function applyChange(deps: ApplyChangeDeps, planId: string, change: Change): Promise<ChangeResult> {
  return (await applyChanges(deps, planId, [change]))[0]!;
}

/** What carries out a change: its system's connector, or the owner's tasks. */
type Handler = Pick<Connector, 'readBack' | 'readBackMany' | 'apply'>;

/** A change ready to be tried: its dependencies hold and its system has a handler. */
interface Attempt {
  readonly change: Change;
  readonly own: ChangeRecord;
  readonly handler: Handler;
  /** Its act starts with the batch's other such acts, not `connectorConcurrency` at a time (ConnectorDescription.gathers). */
  readonly together: boolean;
  /** 'already' means jml never acted on it; once it has (in an earlier attempt too), holding means confirmed. */
  readonly actedBefore: boolean;
  readonly attempts: number;
}

/** A final state to record, with the record it replaces (none when the change is not in the plan). */
interface Final {
  readonly change: Change;
  readonly update: ChangeUpdate;
  readonly previous: ChangeRecord | undefined;
}

/**
 * Applies several changes of one recorded plan, each exactly as `applyChange`
 * would, with the store's work done once for all of them: one read of their
 * records, one statement marking them running before any connector call, and
 * one transaction recording every final state with its audit entries (and
 * `onRecorded`). The connector calls overlap, at most `connectorConcurrency`
 * at a time. A change is recorded as confirmed only after its own read-back
 * held; a crash anywhere leaves the changes `running`, and the next attempt
 * reads back before acting. Results come back in the order of `changes`.
 */
export async function applyChanges(deps: ApplyChangeDeps, planId: string, changes: readonly Change[]): Promise<ChangeResult[]> {
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.callTimeoutMs ?? 30_000;
  const results = new Map<string, ChangeResult>();
  const finals: Final[] = [];
  const ready: Attempt[] = [];

  const records = await changeRecords(deps.db, planId, [...new Set(changes.flatMap((c) => [c.id, ...c.dependsOn]))]);
  for (const change of changes) {
    const own = records.get(change.id);
    if (!own) {
      finals.push({ change, update: { state: 'parked', lastError: 'change is not recorded in the plan', finished: true }, previous: undefined });
      continue;
    }
    const unmet = change.dependsOn.map((id) => ({ id, state: records.get(id)?.state })).filter((d) => !SATISFIED.includes(d.state as ChangeState));
    const failedDependency = unmet.find((d) => d.state === 'parked' || d.state === 'blocked' || d.state === undefined);
    if (failedDependency) {
      finals.push({ change, update: { state: 'blocked', lastError: `blocked by ${failedDependency.id} (${failedDependency.state ?? 'missing'})`, finished: true }, previous: own });
      continue;
    }
    if (unmet.length > 0) {
      results.set(change.id, { changeId: change.id, state: 'waiting', attempts: own.attempts, lastError: own.lastError });
      continue;
    }
    const connector = deps.connectorFor(change.system);
    if (!connector) {
      finals.push({ change, update: { state: 'parked', lastError: `no connector for system ${change.system ?? '(jml)'}`, finished: true }, previous: own });
      continue;
    }
    const handler = handlerFor(deps, connector, change);
    const together = handler === connector && connector.describe().gathers?.includes(change.kind) === true;
    ready.push({ change, own, handler, together, actedBefore: own.state !== 'planned' && own.state !== 'already', attempts: own.attempts + 1 });
  }

  // Recorded before any connector call: a crash after acting leaves the change running, so the next
  // attempt that finds it holding counts it confirmed rather than already.
  await updateChanges(deps.db, planId, ready.map((a) => ({ changeId: a.change.id, update: { state: 'running', attempts: a.attempts, started: a.own.state === 'planned' } })), now());
  const retries: { readonly attempt: Attempt; readonly failure: Failure }[] = [];
  const record = (a: Attempt, step: Step) => {
    if ('update' in step) finals.push({ change: a.change, update: step.update, previous: a.own });
    else if (!step.failure.retryable) finals.push({ change: a.change, update: { state: 'parked', attempts: a.attempts, lastError: step.failure.message, finished: true }, previous: a.own });
    else retries.push({ attempt: a, failure: step.failure });
  };
  await attemptAll(ready, deps.connectorConcurrency ?? 64, now, timeoutMs, record);
  await updateChanges(deps.db, planId, retries.map((r) => ({ changeId: r.attempt.change.id, update: { state: 'running', lastError: r.failure.message } })), now());
  for (const { attempt: a, failure } of retries) {
    results.set(a.change.id, {
      changeId: a.change.id,
      state: 'retry',
      attempts: a.attempts,
      lastError: failure.message,
      ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      ...(failure.unreachable ? { unreachable: true } : {}),
    });
  }
  // Recorded (and audited) in the order the changes came, whichever call answered first.
  const position = new Map(changes.map((c, i) => [c.id, i]));
  finals.sort((a, b) => position.get(a.change.id)! - position.get(b.change.id)!);
  const saved = await finish(deps, planId, finals, now());
  for (const f of finals) {
    const record = saved.get(f.change.id);
    results.set(f.change.id, { changeId: f.change.id, state: f.update.state as StepState, attempts: record?.attempts ?? 0, lastError: record?.lastError ?? f.update.lastError ?? null });
  }
  return changes.map((c) => results.get(c.id)!);
}

type Step = { readonly update: ChangeUpdate } | { readonly failure: Failure };

/**
 * Re-read the targets, do nothing where they hold, act on the rest, read back
 * to confirm: what to record for each change, or why not. The reads go a page
 * at a time to connectors that can (readBackMany); the acts overlap, at most
 * `limit` at a time. A change is confirmed only by its own answer in the read
 * back after its act.
 */
async function attemptAll(attempts: readonly Attempt[], limit: number, now: () => Date, timeoutMs: number, record: (a: Attempt, step: Step) => void): Promise<void> {
  const acting: Attempt[] = [];
  for (const [i, before] of (await readBackAll(attempts, limit, timeoutMs)).entries()) {
    const a = attempts[i]!;
    if (before instanceof Error) record(a, { failure: classify(before) });
    else if (before.holds) record(a, { update: { state: a.actedBefore ? 'confirmed' : 'already', attempts: a.attempts, lastError: null, accountId: before.accountId ?? null, finished: true } });
    else if (!a.handler.apply) record(a, { failure: { retryable: false, message: `${a.change.system} is read-only: its connector cannot ${a.change.kind}` } });
    else acting.push(a);
  }
  const done: { readonly attempt: Attempt; readonly accountId: string | null; readonly actedAt: Date }[] = [];
  const act = async (a: Attempt) => {
    try {
      const outcome: ChangeOutcome = await withTimeout(a.handler.apply!(a.change), timeoutMs, 'apply');
      if (outcome.status === 'pending') record(a, { update: { state: 'pending', attempts: a.attempts, lastError: null, taskId: outcome.taskId ?? null, finished: true } });
      else if (outcome.status !== 'done') record(a, { failure: outcome });
      else done.push({ attempt: a, accountId: outcome.accountId ?? null, actedAt: now() });
    } catch (error) {
      record(a, { failure: classify(error) });
    }
  };
  // The acts a connector gathers start in one turn: an LDAP connector writes the members a batch adds
  // to one group as one modify. Let in 64 at a time, the rest followed one by one as earlier acts ended,
  // ~2.6 members a modify; a directory rewrites a group entry on every modify, and a first provisioning
  // of 100,000 people into ten groups cost slapd 191 s of CPU that way against 99 s (228 s in all
  // against 298 s). The others stay bounded: a call's timeout runs while it waits for its connector's
  // request slots, so a batch's 200 account creations behind a slow directory's 24 slots, or a slow
  // SaaS's four, would time out at its tail (and three timeouts quarantine the system).
  await Promise.all([Promise.all(acting.filter((a) => a.together).map(act)), eachLimited(acting.filter((a) => !a.together), limit, act)]);
  for (const [i, after] of (await readBackAll(done.map((d) => d.attempt), limit, timeoutMs)).entries()) {
    const { attempt: a, accountId, actedAt } = done[i]!;
    if (after instanceof Error) record(a, { failure: classify(after) });
    else if (after.holds) record(a, { update: { state: 'confirmed', attempts: a.attempts, lastError: null, accountId: after.accountId ?? accountId, finished: true, actedAt } });
    else record(a, { failure: { retryable: true, message: `apply reported done but read-back does not hold${after.detail ? `: ${after.detail}` : ''}` } });
  }
}

/**
 * Each attempt's read-back, in order: a page per handler that reads many at
 * once, one call per change (at most `limit` at a time) for the others. A call
 * that throws or times out answers with its error for every change it covered.
 */
async function readBackAll(attempts: readonly Attempt[], limit: number, timeoutMs: number): Promise<(ReadBack | Error)[]> {
  // Filled in below; an Error made up front for every change would cost its stack trace
  // (~13 µs each: 0.5 s of a 40,000-change apply).
  const answers: (ReadBack | Error | undefined)[] = new Array(attempts.length);
  const pages = new Map<Handler, number[]>();
  const singles: number[] = [];
  for (const [i, a] of attempts.entries()) {
    if (!a.handler.readBackMany) singles.push(i);
    else {
      const page = pages.get(a.handler);
      if (page) page.push(i);
      else pages.set(a.handler, [i]);
    }
  }
  await Promise.all([
    ...[...pages].map(async ([handler, indexes]) => {
      try {
        const read = await withTimeout(handler.readBackMany!(indexes.map((i) => attempts[i]!.change)), timeoutMs, 'readBack');
        for (const [j, i] of indexes.entries()) answers[i] = read[j] ?? new Error('the connector gave no read-back for this change');
      } catch (error) {
        for (const i of indexes) answers[i] = asError(error);
      }
    }),
    eachLimited(singles, limit, async (i) => {
      try {
        answers[i] = await withTimeout(attempts[i]!.handler.readBack(attempts[i]!.change), timeoutMs, 'readBack');
      } catch (error) {
        answers[i] = asError(error);
      }
    }),
  ]);
  return Array.from(answers, (answer) => answer ?? new Error('not read back'));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
}

/** The connector for the kinds it provisions; the system owner's tasks for the rest, when configured. */
function handlerFor(deps: ApplyChangeDeps, connector: Connector, change: Change): Handler {
  if (connector.apply && connector.describe().provisions.includes(change.kind)) return connector;
  return (change.system !== null ? deps.tasksFor?.(change.system) : undefined) ?? connector;
}

/**
 * Records final states and their audit entries together, in one transaction;
 * the changes that hold also update the observed snapshot.
 */
async function finish(deps: ApplyChangeDeps, planId: string, finals: readonly Final[], at: Date): Promise<Map<string, ChangeRecord>> {
  if (finals.length === 0) return new Map();
  let sodRaised: readonly SodViolation[] = [];
  const saved = await deps.db.transaction().execute(async (trx) => {
    const recorded = finals.filter((f) => f.previous !== undefined);
    const saved = await updateChanges(trx, planId, recorded.map((f) => ({ changeId: f.change.id, update: f.update })), at);
    const holding = recorded.filter((f) => SATISFIED.includes(f.update.state) && saved.has(f.change.id));
    sodRaised = await recordConfirmedChanges(trx, holding.map((f) => ({ change: f.change, accountId: saved.get(f.change.id)!.accountId })), { actor: deps.actor, at, ...(deps.policy ? { policy: deps.policy() } : {}) });
    // A change that was already settled and still holds is not news: no audit entry for a no-op.
    const news = finals.filter((f) => !(f.previous !== undefined && f.previous.state === f.update.state && SATISFIED.includes(f.update.state)));
    await appendAudit(trx, news.map((f) => changeAuditEntry(deps.actor, planId, f)), at);
    await deps.onRecorded?.(trx, finals.map((f) => ({ change: f.change, state: f.update.state })));
    return saved;
  });
  await alertSodViolations(sodRaised, at, deps.alert);
  return saved;
}

function changeAuditEntry(actor: string, planId: string, { change, update, previous }: Final): AuditEntryInput {
  return {
    actor,
    action: `change.${update.state}`,
    subject: change.identityKey,
    trigger: `plan:${planId}`,
    details: {
      change: change.id,
      kind: change.kind,
      system: change.system,
      // SIEM streams name the privilege a grant change is about (src/app/siem/siem-event.ts).
      ...(change.entitlement !== undefined ? { entitlement: change.entitlement } : {}),
      attempts: update.attempts ?? previous?.attempts ?? 0,
      ...(update.lastError ? { error: update.lastError } : {}),
      ...(update.taskId ? { task: update.taskId } : {}),
    },
  };
}

function classify(error: unknown): Failure {
  if (isJmlError(error)) {
    const retryAfterMs = typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : undefined;
    return { retryable: error.retryable, message: error.message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(error.details.unreachable === true ? { unreachable: true } : {}) };
  }
  // A call that never answered is how an unreachable system looks from here.
  if ((error as { timedOut?: boolean }).timedOut) return { retryable: true, unreachable: true, message: (error as Error).message };
  // An unexpected throw leaves the outcome unknown; reading back first makes another try safe.
  return { retryable: true, message: error instanceof Error ? error.message : String(error) };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${operation} did not answer within ${ms} ms`), { timedOut: true })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
