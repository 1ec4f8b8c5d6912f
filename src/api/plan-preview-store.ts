/**
 * Plans previewed in the console, kept in the database (`plan_previews`) so a
 * restart or another API instance behind the load balancer sees the same
 * previews. Status moves awaiting_approval → approved → applying → applied |
 * partial; each move is one conditional UPDATE, so two instances racing to
 * approve or apply the same plan cannot both win. Per-change states come from
 * `plan_changes`, which apply writes.
 */
import type { Kysely } from 'kysely';
import type { Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import type { Database } from '../store/database.ts';
import type { PlanView } from './api-deps.ts';

export type PreviewStatus = 'awaiting_approval' | 'approved' | 'applying' | 'applied' | 'partial';

export interface StoredPreview {
  readonly view: PlanView;
  readonly scope: { readonly identityKeys?: readonly string[] };
}

export interface PlanPreviewStore {
  save(plan: Plan, scope: { readonly identityKeys?: readonly string[] }, actor: string): Promise<PlanView>;
  get(id: string): Promise<StoredPreview>;
  list(status: string | undefined, limit: number): Promise<PlanView[]>;
  /**
   * Moves the preview from one status to another; a conflict when it is not in `from` (someone else moved it first).
   * With `fourEyes`, `approvedBy` must not be the plan's author (forbidden), checked in the same statement.
   */
  transition(id: string, from: PreviewStatus, to: PreviewStatus, fields?: { approvedBy?: string; fourEyes?: boolean }): Promise<void>;
}

/** Creates the store over the database. */
export function createPlanPreviewStore(deps: { readonly db: Kysely<Database>; readonly now: () => Date }): PlanPreviewStore {
  const { db, now } = deps;

  /** Change states per plan, and the plan's own status as the executor recorded it. */
  async function states(planIds: readonly string[]): Promise<Map<string, { changes: Record<string, string>; executed?: string }>> {
    const out = new Map<string, { changes: Record<string, string>; executed?: string }>(planIds.map((id) => [id, { changes: {} }]));
    if (planIds.length === 0) return out;
    const rows = await db.selectFrom('plan_changes').select(['plan_id', 'change_id', 'state']).where('plan_id', 'in', [...planIds]).execute();
    for (const r of rows) out.get(r.plan_id)!.changes[r.change_id] = r.state;
    const plans = await db.selectFrom('plans').select(['id', 'status']).where('id', 'in', [...planIds]).execute();
    for (const p of plans) out.get(p.id)!.executed = p.status;
    return out;
  }

  type Row = { id: string; plan: unknown; status: string; approved_by: string | null; scope: { readonly identityKeys?: readonly string[] } };
  const toView = (row: Row, { changes: changeStates, executed }: { changes: Record<string, string>; executed?: string }): PlanView => {
    const plan = row.plan as Plan;
    // The apply runs in the queue: a preview left 'applying' (its server stopped) shows how the plan ended.
    const status = row.status === 'applying' && (executed === 'applied' || executed === 'partial') ? executed : row.status;
    return { id: row.id, status, computedAt: plan.computedAt, fingerprint: plan.fingerprint, plan, changeStates, approvedBy: row.approved_by, identityKeys: row.scope.identityKeys ?? [] };
  };

  return {
    async save(plan, scope, actor) {
      const at = now().toISOString();
      const status: PreviewStatus = plan.changes.length === 0 ? 'applied' : 'awaiting_approval';
      await db
        .insertInto('plan_previews')
        .values({ id: plan.id, scope: JSON.stringify(scope), plan: JSON.stringify(plan), changes: plan.changes.length, status, created_by: actor, approved_by: null, created_at: at, updated_at: at })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return (await this.get(plan.id)).view;
    },
    async get(id) {
      const row = await db.selectFrom('plan_previews').select(['id', 'plan', 'status', 'approved_by', 'scope']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new JmlError('not_found', `no plan ${id}`);
      return { view: toView(row, (await states([id])).get(id)!), scope: row.scope };
    },
    async list(status, limit) {
      let q = db.selectFrom('plan_previews').select(['id', 'plan', 'status', 'approved_by', 'scope']).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit);
      if (status) q = q.where('status', '=', status);
      const rows = await q.execute();
      const byPlan = await states(rows.map((r) => r.id));
      return rows.map((r) => toView(r, byPlan.get(r.id)!));
    },
    async transition(id, from, to, fields = {}) {
      const { approvedBy, fourEyes = false } = fields;
      let update = db
        .updateTable('plan_previews')
        .set({ status: to, updated_at: now().toISOString(), ...(approvedBy !== undefined ? { approved_by: approvedBy } : {}) })
        .where('id', '=', id)
        .where('status', '=', from);
      if (fourEyes && approvedBy !== undefined) update = update.where('created_by', '<>', approvedBy);
      const result = await update.executeTakeFirst();
      if (result.numUpdatedRows > 0n) return;
      const current = await db.selectFrom('plan_previews').select(['status', 'created_by']).where('id', '=', id).executeTakeFirst();
      if (!current) throw new JmlError('not_found', `no plan ${id}`);
      if (fourEyes && current.status === from && current.created_by === approvedBy) {
        throw new JmlError('forbidden', `plan ${id} was computed by ${approvedBy}: four-eyes is on, so someone else approves it`, { details: { plan: id, author: current.created_by } });
      }
      throw new JmlError('conflict', from === 'approved' && to === 'applying' ? `plan ${id} is ${current.status}: it must be approved (and not already applying) before it is applied` : `plan ${id} is ${current.status}, not ${from.replace(/_/g, ' ')}`);
    },
  };
}
