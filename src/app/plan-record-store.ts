/**
 * Where apply records what happened: one `plans` row per applied plan (the plan
 * itself as JSON, so a worker can run one change of it alone) and one
 * `plan_changes` row per change with its state, attempts and last error.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Change, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database, PlanChangesTable } from '../store/database.ts';

/**
 * planned → running → already | confirmed | pending | parked; blocked when a
 * change it depends on is parked or blocked.
 */
export type ChangeState = 'planned' | 'running' | 'already' | 'confirmed' | 'pending' | 'parked' | 'blocked';

/** States in which a change's target holds, so changes that depend on it may start. */
export const SATISFIED: readonly ChangeState[] = ['already', 'confirmed'];

export interface ChangeRecord {
  readonly changeId: string;
  readonly state: ChangeState;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly accountId: string | null;
  readonly taskId: string | null;
}

export type PlanStatus = 'applying' | 'applied' | 'partial';

/**
 * Records the plan and a `planned` row per change; a plan recorded before
 * keeps its rows. True when the plan was new: its rows were written now, in
 * the transaction that wrote the plan, so a plan found recorded has all of
 * its rows. In `db`'s transaction when it is one (submitPlan queues the plan's
 * jobs in the same one), else in its own.
 */
export async function recordPlan(db: Kysely<Database>, plan: Plan, actor: string, now: Date): Promise<boolean> {
  if (!db.isTransaction) return db.transaction().execute((trx) => recordPlan(trx, plan, actor, now));
  const at = now.toISOString();
  const existing = await db.selectFrom('plans').select('fingerprint').where('id', '=', plan.id).forUpdate().executeTakeFirst();
  if (existing && existing.fingerprint !== plan.fingerprint) {
    throw new JmlError('conflict', `plan ${plan.id} was recorded with another fingerprint`, { details: { plan: plan.id } });
  }
  if (existing) return false;
  await db
    .insertInto('plans')
    .values({ id: plan.id, fingerprint: plan.fingerprint, computed_at: plan.computedAt, plan: JSON.stringify(plan), status: 'applying', actor, created_at: at, updated_at: at })
    .execute();
  // Each column travels as one parameter per chunk, the plan id, state and time once (bulkInsert):
  // 500-row VALUES of eight parameters each cost the client and the server a parse of every value.
  await bulkInsert(
    db,
    'plan_changes',
    { plan_id: 'text', change_id: 'text', position: 'integer', kind: 'text', system: 'text', identity_key: 'text', entitlement: 'text', state: 'text', updated_at: 'timestamptz' },
    plan.changes,
    { map: (c, position) => ({ plan_id: plan.id, change_id: c.id, position, kind: c.kind, system: c.system, identity_key: c.identityKey, entitlement: c.entitlement ?? null, state: 'planned', updated_at: at }) },
  );
  return true;
}

export async function setPlanStatus(db: Kysely<Database>, planId: string, status: PlanStatus, now: Date): Promise<void> {
  await db.updateTable('plans').set({ status, updated_at: now.toISOString() }).where('id', '=', planId).execute();
}

/** Loads a recorded plan (what a job worker starts from). */
export async function loadPlan(db: Kysely<Database>, planId: string): Promise<Plan> {
  const row = await db.selectFrom('plans').select('plan').where('id', '=', planId).executeTakeFirst();
  if (!row) throw new JmlError('not_found', `no recorded plan ${planId}`, { details: { plan: planId } });
  return row.plan as Plan;
}

/**
 * The columns a ChangeRecord is made of, and all that is read back: the row's
 * timestamps cost a date parse each (four per row, twice per change in an apply).
 */
const RECORD_COLUMNS = ['change_id', 'state', 'attempts', 'last_error', 'account_id', 'task_id'] as const;
type RecordRow = Pick<Selectable<PlanChangesTable>, (typeof RECORD_COLUMNS)[number]>;

export async function changeRecords(db: Kysely<Database>, planId: string, changeIds?: readonly string[]): Promise<Map<string, ChangeRecord>> {
  let query = db.selectFrom('plan_changes').select(RECORD_COLUMNS).where('plan_id', '=', planId);
  if (changeIds) {
    if (changeIds.length === 0) return new Map();
    query = query.where('change_id', 'in', changeIds);
  }
  return new Map((await query.execute()).map((r) => [r.change_id, toRecord(r)]));
}

export interface ChangeUpdate {
  readonly state: ChangeState;
  readonly attempts?: number;
  readonly lastError?: string | null;
  readonly accountId?: string | null;
  readonly taskId?: string | null;
  readonly started?: boolean;
  readonly finished?: boolean;
  /** When the connector call that made the change true returned (before its read-back). */
  readonly actedAt?: Date;
}

export async function updateChange(db: Kysely<Database>, planId: string, change: Change, update: ChangeUpdate, now: Date): Promise<ChangeRecord> {
  const at = now.toISOString();
  const row = await db
    .updateTable('plan_changes')
    .set({
      state: update.state,
      updated_at: at,
      ...(update.attempts !== undefined ? { attempts: update.attempts } : {}),
      ...(update.lastError !== undefined ? { last_error: update.lastError } : {}),
      ...(update.accountId !== undefined ? { account_id: update.accountId } : {}),
      ...(update.taskId !== undefined ? { task_id: update.taskId } : {}),
      ...(update.started ? { started_at: at } : {}),
      ...(update.finished ? { finished_at: at } : {}),
      ...(update.actedAt ? { acted_at: update.actedAt.toISOString() } : {}),
    })
    .where('plan_id', '=', planId)
    .where('change_id', '=', change.id)
    .returning(RECORD_COLUMNS)
    .executeTakeFirst();
  if (!row) throw new JmlError('not_found', `change ${change.id} is not recorded in plan ${planId}`, { details: { plan: planId, change: change.id } });
  return toRecord(row);
}

/**
 * `updateChange` for many changes of one plan in one statement (what a batch
 * of change jobs records at once). Each update means what it means there: a
 * field left undefined keeps its value. Returns the records as saved; a
 * change that is not recorded in the plan is missing from the map.
 */
export async function updateChanges(db: Kysely<Database>, planId: string, updates: readonly { readonly changeId: string; readonly update: ChangeUpdate }[], now: Date): Promise<Map<string, ChangeRecord>> {
  if (updates.length === 0) return new Map();
  const at = now.toISOString();
  const column = <T>(pick: (u: ChangeUpdate) => T) => updates.map((u) => pick(u.update));
  const given = (pick: (u: ChangeUpdate) => unknown) => column((u) => pick(u) !== undefined);
  const rows = await sql<RecordRow>`
    UPDATE plan_changes AS pc SET
      state = u.state,
      updated_at = ${at}::timestamptz,
      attempts = COALESCE(u.attempts, pc.attempts),
      last_error = CASE WHEN u.has_error THEN u.last_error ELSE pc.last_error END,
      account_id = CASE WHEN u.has_account THEN u.account_id ELSE pc.account_id END,
      task_id = CASE WHEN u.has_task THEN u.task_id ELSE pc.task_id END,
      started_at = CASE WHEN u.started THEN ${at}::timestamptz ELSE pc.started_at END,
      finished_at = CASE WHEN u.finished THEN ${at}::timestamptz ELSE pc.finished_at END,
      acted_at = COALESCE(u.acted_at, pc.acted_at)
    FROM unnest(
      ${updates.map((u) => u.changeId)}::text[], ${column((u) => u.state)}::text[], ${column((u) => u.attempts ?? null)}::int[],
      ${given((u) => u.lastError)}::boolean[], ${column((u) => u.lastError ?? null)}::text[],
      ${given((u) => u.accountId)}::boolean[], ${column((u) => u.accountId ?? null)}::text[],
      ${given((u) => u.taskId)}::boolean[], ${column((u) => u.taskId ?? null)}::text[],
      ${column((u) => u.started === true)}::boolean[], ${column((u) => u.finished === true)}::boolean[], ${column((u) => u.actedAt?.toISOString() ?? null)}::timestamptz[]
    ) AS u(change_id, state, attempts, has_error, last_error, has_account, account_id, has_task, task_id, started, finished, acted_at)
    WHERE pc.plan_id = ${planId} AND pc.change_id = u.change_id
      -- Spelled out so the rows are found by key: joined to the unnest alone, a large plan's rows were scanned per batch.
      AND pc.change_id = ANY(${updates.map((u) => u.changeId)}::text[])
    RETURNING ${sql.join(RECORD_COLUMNS.map((c) => sql.ref(`pc.${c}`)))}`.execute(db);
  return new Map(rows.rows.map((r) => [r.change_id, toRecord(r)]));
}

function toRecord(row: RecordRow): ChangeRecord {
  return {
    changeId: row.change_id,
    state: row.state as ChangeState,
    attempts: row.attempts,
    lastError: row.last_error,
    accountId: row.account_id,
    taskId: row.task_id,
  };
}
