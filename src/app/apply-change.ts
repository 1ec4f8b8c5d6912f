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
import { isJmlError } from '../domain/errors.ts';
import type { Connector } from '../connectors/connector.ts';
import type { ChangeHandler } from '../connectors/manual/task-fallback.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { AlertSink } from './alert.ts';
import { recordConfirmedChange } from './observed-snapshot-update.ts';
import { alertSodViolations } from './sod-findings.ts';
import { changeRecords, SATISFIED, updateChange, type ChangeRecord, type ChangeState, type ChangeUpdate } from './plan-record-store.ts';

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
   * Runs inside the transaction that records a final state, so what follows
   * from it (a job's next step, the changes that waited on this one) commits
   * with the record or not at all.
   */
  readonly onRecorded?: (trx: Kysely<Database>, state: ChangeState) => Promise<void>;
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
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.callTimeoutMs ?? 30_000;

  const records = await changeRecords(deps.db, planId, [change.id, ...change.dependsOn]);
  const own = records.get(change.id);
  if (!own) return finish(deps, planId, change, { state: 'parked', lastError: 'change is not recorded in the plan', finished: true }, now, undefined);
  const unmet = change.dependsOn.map((id) => ({ id, state: records.get(id)?.state })).filter((d) => !SATISFIED.includes(d.state as ChangeState));
  const failedDependency = unmet.find((d) => d.state === 'parked' || d.state === 'blocked' || d.state === undefined);
  if (failedDependency) {
    return finish(deps, planId, change, { state: 'blocked', lastError: `blocked by ${failedDependency.id} (${failedDependency.state ?? 'missing'})`, finished: true }, now, own);
  }
  if (unmet.length > 0) return { changeId: change.id, state: 'waiting', attempts: own.attempts, lastError: own.lastError };

  const connector = deps.connectorFor(change.system);
  if (!connector) return finish(deps, planId, change, { state: 'parked', lastError: `no connector for system ${change.system ?? '(jml)'}`, finished: true }, now, own);
  const handler = handlerFor(deps, connector, change);

  // 'already' means jml never acted on it; once it has (in an earlier attempt too), holding means confirmed.
  const actedBefore = own.state !== 'planned' && own.state !== 'already';
  const attempts = own.attempts + 1;
  await updateChange(deps.db, planId, change, { state: 'running', attempts, started: own.state === 'planned' }, now());
  let failure: Failure;
  try {
    const before = await withTimeout(handler.readBack(change), timeoutMs, 'readBack');
    if (before.holds) {
      return finish(deps, planId, change, { state: actedBefore ? 'confirmed' : 'already', attempts, lastError: null, accountId: before.accountId ?? null, finished: true }, now, own);
    }
    if (!handler.apply) {
      failure = { retryable: false, message: `${change.system} is read-only: its connector cannot ${change.kind}` };
    } else {
      const outcome: ChangeOutcome = await withTimeout(handler.apply(change), timeoutMs, 'apply');
      if (outcome.status === 'pending') {
        return finish(deps, planId, change, { state: 'pending', attempts, lastError: null, taskId: outcome.taskId ?? null, finished: true }, now, own);
      }
      if (outcome.status === 'done') {
        const actedAt = now();
        const after = await withTimeout(handler.readBack(change), timeoutMs, 'readBack');
        if (after.holds) {
          return finish(deps, planId, change, { state: 'confirmed', attempts, lastError: null, accountId: after.accountId ?? outcome.accountId ?? null, finished: true, actedAt }, now, own);
        }
        failure = { retryable: true, message: `apply reported done but read-back does not hold${after.detail ? `: ${after.detail}` : ''}` };
      } else {
        failure = outcome;
      }
    }
  } catch (error) {
    failure = classify(error);
  }
  if (!failure.retryable) return finish(deps, planId, change, { state: 'parked', attempts, lastError: failure.message, finished: true }, now, own);
  await updateChange(deps.db, planId, change, { state: 'running', lastError: failure.message }, now());
  return {
    changeId: change.id,
    state: 'retry',
    attempts,
    lastError: failure.message,
    ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
    ...(failure.unreachable ? { unreachable: true } : {}),
  };
}

/** The connector for the kinds it provisions; the system owner's tasks for the rest, when configured. */
function handlerFor(deps: ApplyChangeDeps, connector: Connector, change: Change): Pick<Connector, 'readBack' | 'apply'> {
  if (connector.apply && connector.describe().provisions.includes(change.kind)) return connector;
  return (change.system !== null ? deps.tasksFor?.(change.system) : undefined) ?? connector;
}

/** Records a final state and its audit entry together; a change that holds also updates the observed snapshot. */
async function finish(deps: ApplyChangeDeps, planId: string, change: Change, update: ChangeUpdate, now: () => Date, previous: ChangeRecord | undefined): Promise<ChangeResult> {
  const at = now();
  let sodRaised: Awaited<ReturnType<typeof recordConfirmedChange>> = [];
  const record = await deps.db.transaction().execute(async (trx) => {
    const saved = previous ? await updateChange(trx, planId, change, update, at) : undefined;
    if (saved && SATISFIED.includes(update.state)) {
      sodRaised = await recordConfirmedChange(trx, change, { accountId: saved.accountId, actor: deps.actor, at, ...(deps.policy ? { policy: deps.policy() } : {}) });
    }
    // A change that was already settled and still holds is not news: no audit entry for a no-op.
    const unchanged = previous !== undefined && previous.state === update.state && SATISFIED.includes(update.state);
    if (!unchanged) {
      await appendAudit(
        trx,
        {
          actor: deps.actor,
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
        },
        at,
      );
    }
    await deps.onRecorded?.(trx, update.state);
    return saved;
  });
  await alertSodViolations(sodRaised, at, deps.alert);
  return { changeId: change.id, state: update.state as StepState, attempts: record?.attempts ?? 0, lastError: record?.lastError ?? update.lastError ?? null };
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
