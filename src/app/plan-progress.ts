/**
 * Where a submitted plan stands, read from its change records: how many
 * changes are settled, which still run, and which wait — on people (pending
 * tasks) or on a quarantined system. What `jml apply` waits on and prints,
 * and what the console's progress view polls.
 */
import type { Kysely } from 'kysely';
import type { Plan } from '../domain/change.ts';
import type { Database } from '../store/database.ts';
import type { ChangeState, PlanStatus } from './plan-record-store.ts';

/** How a change of a submitted plan ends up in a report: `waiting` = not settled yet (planned, running, or behind a quarantine). */
export type ReportedState = Exclude<ChangeState, 'planned' | 'running'> | 'waiting';

export interface ChangeProgress {
  readonly changeId: string;
  readonly kind: string;
  readonly system: string | null;
  readonly identityKey: string;
  readonly entitlement?: string;
  readonly state: ReportedState;
  readonly attempts: number;
  readonly lastError: string | null;
}

export interface QuarantineWait {
  readonly system: string;
  readonly lastError: string | null;
  /** Changes of the plan that wait for the system (its own and those behind them). */
  readonly waiting: number;
}

export interface PlanProgress {
  readonly planId: string;
  readonly status: PlanStatus;
  readonly total: number;
  /** Changes that will not move by themselves any more (already, confirmed, parked, blocked). */
  readonly settled: number;
  /** Changes a worker is on or will take up without anyone's help; 0 means the apply has gone as far as it can for now. */
  readonly active: number;
  readonly counts: Readonly<Partial<Record<ReportedState, number>>>;
  readonly quarantined: readonly QuarantineWait[];
  readonly changes: readonly ChangeProgress[];
}

const SETTLED: readonly string[] = ['already', 'confirmed', 'parked', 'blocked'];

/** A plan's progress in numbers only: what a progress bar shows while the plan runs. */
export type PlanTally = Pick<PlanProgress, 'planId' | 'status' | 'total' | 'settled'> & {
  /** Changes planned or running: a worker is on them or will take them up, unless a quarantine holds them. */
  readonly moving: number;
  /**
   * Whether some of `moving` may be held without anyone working on them: a
   * change waits on a person (pending) or a system is quarantined. Only the
   * full progress can tell then.
   */
  readonly maybeHeld: boolean;
};

/**
 * Counts a submitted plan's changes by state, in the database: cheap enough
 * to poll while a plan of 200,000 changes runs (readPlanProgress reads every
 * change and is for when the detail is needed).
 */
export async function readPlanTally(db: Kysely<Database>, plan: Plan): Promise<PlanTally> {
  const [planRow, rows, quarantined] = await Promise.all([
    db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirst(),
    db.selectFrom('plan_changes').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).where('plan_id', '=', plan.id).groupBy('state').execute(),
    db.selectFrom('system_health').select('system').where('state', '=', 'quarantined').limit(1).executeTakeFirst(),
  ]);
  const count = (states: readonly string[]) => rows.filter((r) => states.includes(r.state)).reduce((sum, r) => sum + Number(r.n), 0);
  return {
    planId: plan.id,
    status: (planRow?.status ?? 'applying') as PlanStatus,
    total: plan.changes.length,
    settled: count(SETTLED),
    // A change with no record yet counts as planned.
    moving: count(['planned', 'running']) + Math.max(0, plan.changes.length - count(rows.map((r) => r.state))),
    maybeHeld: quarantined !== undefined || count(['pending']) > 0,
  };
}

/**
 * Reads a submitted plan's progress.
 * @example
 * const progress = await readPlanProgress(db, plan);
 * if (progress.active === 0) console.log(progress.counts);
 */
export async function readPlanProgress(db: Kysely<Database>, plan: Plan): Promise<PlanProgress> {
  const [planRow, rows, health] = await Promise.all([
    db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirst(),
    db.selectFrom('plan_changes').select(['change_id', 'state', 'attempts', 'last_error']).where('plan_id', '=', plan.id).execute(),
    db.selectFrom('system_health').select(['system', 'last_error']).where('state', '=', 'quarantined').execute(),
  ]);
  const state = new Map(rows.map((r) => [r.change_id, r]));
  const quarantinedError = new Map(health.map((h) => [h.system, h.last_error]));

  // A change is held when it cannot move without someone's help: a pending task, a quarantined
  // system, or a dependency that is itself held (followed until nothing changes, whatever the order).
  const heldBy = new Map<string, string | null>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const change of plan.changes) {
      const s = state.get(change.id)?.state ?? 'planned';
      if (SETTLED.includes(s) || heldBy.has(change.id)) continue;
      const dependency = change.dependsOn.find((id) => heldBy.has(id));
      if (s === 'pending') heldBy.set(change.id, null);
      else if (change.system !== null && quarantinedError.has(change.system)) heldBy.set(change.id, change.system);
      else if (dependency !== undefined) heldBy.set(change.id, heldBy.get(dependency) ?? null);
      else continue;
      grew = true;
    }
  }

  const counts: Partial<Record<ReportedState, number>> = {};
  const waitingOn = new Map<string, number>();
  let active = 0;
  const changes = plan.changes.map((change): ChangeProgress => {
    const row = state.get(change.id);
    const s = row?.state ?? 'planned';
    const reported: ReportedState = s === 'planned' || s === 'running' ? 'waiting' : (s as ReportedState);
    counts[reported] = (counts[reported] ?? 0) + 1;
    if (!SETTLED.includes(s) && !heldBy.has(change.id)) active++;
    const system = heldBy.get(change.id);
    if (system) waitingOn.set(system, (waitingOn.get(system) ?? 0) + 1);
    return { changeId: change.id, kind: change.kind, system: change.system, identityKey: change.identityKey, ...(change.entitlement ? { entitlement: change.entitlement } : {}), state: reported, attempts: row?.attempts ?? 0, lastError: row?.last_error ?? null };
  });
  return {
    planId: plan.id,
    status: (planRow?.status ?? 'applying') as PlanStatus,
    total: plan.changes.length,
    settled: changes.filter((c) => SETTLED.includes(c.state)).length,
    active,
    counts,
    quarantined: [...waitingOn].map(([system, waiting]) => ({ system, lastError: quarantinedError.get(system) ?? null, waiting })),
    changes,
  };
}
