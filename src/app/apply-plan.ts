/**
 * Apply: executes a plan's changes in dependency order through connectors. A
 * change starts only when every change it depends on is confirmed (or already
 * held); independent changes run concurrently, bounded per system. A plan
 * whose inputs changed since it was computed is refused. Each change is one
 * `applyChange` step, which a durable job worker can later run on its own.
 */
import type { Change, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import { applyChange, type ApplyChangeDeps, type ChangeResult, type StepState } from './apply-change.ts';
import { recordPlan, SATISFIED, setPlanStatus, type ChangeState, type PlanStatus } from './plan-record-store.ts';

export interface ApplyPlanDeps extends ApplyChangeDeps {
  /** Fingerprint of the inputs as they are now; a plan computed from other inputs is stale. */
  readonly currentFingerprint: () => Promise<string>;
  /** Changes in flight at once per system (default 4). */
  readonly concurrencyPerSystem?: number;
}

export interface ApplyReport {
  readonly planId: string;
  readonly status: PlanStatus;
  /** One result per change, in plan order; `waiting` = its dependencies are pending (manual tasks). */
  readonly changes: readonly ChangeResult[];
  readonly counts: Readonly<Partial<Record<StepState, number>>>;
}

/**
 * Applies a plan and records the outcome of every change.
 * @example
 * const report = await applyPlan({ db, connectorFor, actor: 'cli:alice', currentFingerprint }, plan);
 * report.status; // 'applied' | 'partial'
 */
export async function applyPlan(deps: ApplyPlanDeps, plan: Plan): Promise<ApplyReport> {
  checkPlanShape(plan);
  const current = await deps.currentFingerprint();
  if (current !== plan.fingerprint) {
    throw new JmlError('stale_plan', `plan ${plan.id} is stale: its inputs changed since it was computed; compute a new plan`, {
      details: { plan: plan.id, planned: plan.fingerprint, current },
    });
  }
  const now = deps.now ?? (() => new Date());
  await recordPlan(deps.db, plan, deps.actor, now());
  await appendAudit(deps.db, { actor: deps.actor, action: 'plan.apply_started', subject: `plan:${plan.id}`, trigger: 'apply', details: { changes: plan.changes.length, fingerprint: plan.fingerprint } }, now());

  const results = new Map<string, ChangeResult>();
  const limit = deps.concurrencyPerSystem ?? 4;
  const inFlight = new Map<string, Promise<void>>();
  const perSystem = new Map<string, number>();
  const slot = (change: Change) => change.system ?? '(jml)';
  const stateOf = (id: string): StepState | undefined => results.get(id)?.state;

  const isReady = (change: Change) =>
    !results.has(change.id) &&
    !inFlight.has(change.id) &&
    change.dependsOn.every((id) => {
      const state = stateOf(id);
      // A failed dependency is ready too: the step records the change as blocked.
      return state !== undefined && state !== 'waiting' && state !== 'pending';
    });

  for (;;) {
    for (const change of plan.changes) {
      if (!isReady(change)) continue;
      const blocked = change.dependsOn.some((id) => !SATISFIED.includes(stateOf(id) as ChangeState));
      if (!blocked && (perSystem.get(slot(change)) ?? 0) >= limit) continue;
      if (!blocked) perSystem.set(slot(change), (perSystem.get(slot(change)) ?? 0) + 1);
      const run = applyChange(deps, plan.id, change)
        .then((result) => void results.set(change.id, result))
        .finally(() => {
          inFlight.delete(change.id);
          if (!blocked) perSystem.set(slot(change), (perSystem.get(slot(change)) ?? 1) - 1);
        });
      inFlight.set(change.id, run);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight.values());
  }

  const changes = plan.changes.map((c) => results.get(c.id) ?? { changeId: c.id, state: 'waiting' as const, attempts: 0, lastError: null });
  const counts: Partial<Record<StepState, number>> = {};
  for (const r of changes) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const status: PlanStatus = changes.every((r) => SATISFIED.includes(r.state as ChangeState)) ? 'applied' : 'partial';
  await setPlanStatus(deps.db, plan.id, status, now());
  await appendAudit(deps.db, { actor: deps.actor, action: `plan.${status}`, subject: `plan:${plan.id}`, trigger: 'apply', details: { counts } }, now());
  return { planId: plan.id, status, changes, counts };
}

/** Unique ids, known dependencies, no cycle: otherwise some change could never start. */
function checkPlanShape(plan: Plan): void {
  const ids = new Set<string>();
  for (const change of plan.changes) {
    if (ids.has(change.id)) throw new JmlError('invalid_input', `plan ${plan.id} has change ${change.id} twice`);
    ids.add(change.id);
  }
  for (const change of plan.changes) {
    const unknown = change.dependsOn.find((id) => !ids.has(id));
    if (unknown) throw new JmlError('invalid_input', `change ${change.id} depends on ${unknown}, which is not in plan ${plan.id}`);
  }
  const byId = new Map(plan.changes.map((c) => [c.id, c]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (id: string): void => {
    if (done.has(id)) return;
    if (visiting.has(id)) throw new JmlError('invalid_input', `plan ${plan.id} has a dependency cycle through ${id}`);
    visiting.add(id);
    for (const dep of byId.get(id)!.dependsOn) visit(dep);
    visiting.delete(id);
    done.add(id);
  };
  for (const id of ids) visit(id);
}
