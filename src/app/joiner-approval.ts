/**
 * Joiners that policy says need approval before activation: each gets a
 * `joiner` request with its stages; until it is approved, the plan holds
 * the joiner's accounts (see `loadJoinerHolds` in plan-inputs.ts).
 */
import { randomUUID } from 'node:crypto';
import { addDays, dateIn } from '../engine/org-calendar.ts';
import { appendAudit } from '../store/audit-log.ts';
import { identityFromRow } from '../store/identity-store.ts';
import { insertStages, routeContext, type RequestDeps } from './access-request.ts';
import { joinerPolicyFor, joinerRoute } from './approval-route.ts';

/**
 * Opens a joiner approval for every new identity (pending, or starting within
 * the last `recentDays`) that a joiner policy matches and that has none yet.
 * Returns the identity keys for which one was opened.
 */
export async function requestJoinerApprovals(deps: RequestDeps, recentDays = 30): Promise<string[]> {
  if (!deps.policy.approvals.some((a) => a.appliesTo === 'joiner')) return [];
  const now = (deps.now ?? (() => new Date()))();
  const since = addDays(dateIn(now, deps.timezone ?? 'UTC'), -recentDays);
  const rows = await deps.db
    .selectFrom('identities as i')
    .selectAll('i')
    .where((eb) => eb.or([eb('i.status', '=', 'pending'), eb.and([eb('i.status', '=', 'active'), eb('i.start_date', '>=', since)])]))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('access_requests as r').select('r.id').whereRef('r.identity_key', '=', 'i.key').where('r.kind', '=', 'joiner'))))
    .limit(5000)
    .execute();
  const opened: string[] = [];
  for (const row of rows) {
    const joiner = identityFromRow(row);
    const ctx = await routeContext(deps, [joiner.key], [], now);
    const policy = joinerPolicyFor(ctx, joiner);
    if (!policy) continue;
    const stages = joinerRoute(ctx, policy, joiner);
    const id = `req-${randomUUID().slice(0, 8)}`;
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('access_requests')
        .values({ id, kind: 'joiner', requester: 'jml', identity_key: joiner.key, role: null, entitlements: JSON.stringify([]), justification: `joiner approval (${policy.name})`, duration_days: null, state: 'pending', created_at: now.toISOString() })
        .execute();
      await insertStages(trx, id, stages, now);
      await appendAudit(trx, { actor: 'jml', action: 'joiner.approval_requested', subject: joiner.key, trigger: `request:${id}`, details: { policy: policy.name, stages: stages.map((s) => ({ name: s.name, approvers: s.approvers })) } }, now);
    });
    opened.push(joiner.key);
  }
  return opened;
}
