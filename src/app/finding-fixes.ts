/**
 * Findings with the plan that fixes them: for each finding, the newest plan
 * preview not yet applied (awaiting approval, approved or applying) holding a
 * change that settles it (`changeFixesFinding`). A finding no plan fixes is
 * work for a person: compute a plan, or resolve it by hand.
 */
import type { Kysely } from 'kysely';
import type { Plan } from '../domain/change.ts';
import type { Database } from '../store/database.ts';
import { changeFixesFinding } from './finding-resolution.ts';
import { listFindings, type Finding, type FindingFilter } from './findings-store.ts';

export interface FindingWithFix extends Finding {
  /** The plan whose change settles this finding, or null. */
  readonly fixedBy: { readonly planId: string; readonly status: string; readonly changeId: string } | null;
}

const OPEN_PLAN_STATUSES = ['awaiting_approval', 'approved', 'applying'];

/**
 * Findings matching `filter` (open first), at most `limit`, each with the plan that fixes it.
 * @example
 * const open = await findingsWithFixes(db, { state: 'open', system: 'directory' }, 100);
 */
export async function findingsWithFixes(db: Kysely<Database>, filter: FindingFilter, limit: number): Promise<{ readonly items: readonly FindingWithFix[]; readonly total: number }> {
  const findings = await listFindings(db, filter);
  const shown = findings.slice(0, limit);
  const previews = shown.some((f) => f.state === 'open')
    ? await db.selectFrom('plan_previews').select(['id', 'status', 'plan']).where('status', 'in', OPEN_PLAN_STATUSES).orderBy('created_at', 'desc').limit(20).execute()
    : [];
  const plans = previews.map((p) => ({ id: p.id, status: p.status, changes: (p.plan as unknown as Plan).changes }));
  const items = shown.map((f) => {
    if (f.state !== 'open') return { ...f, fixedBy: null };
    for (const plan of plans) {
      const change = plan.changes.find((c) => changeFixesFinding(c, f));
      if (change) return { ...f, fixedBy: { planId: plan.id, status: plan.status, changeId: change.id } };
    }
    return { ...f, fixedBy: null };
  });
  return { items, total: findings.length };
}
