/**
 * Self-approval caught when the data changes, not at the next risk scan: a
 * manager, sponsor or owner change (a mover from HR, a rescinded leaver) that
 * makes someone their own approver, or closes a management loop, opens the
 * `self_approver` finding with its alert at once, and the approvals waiting on
 * the loop are taken out of it:
 * - a pending stage of a request for (or by) someone in the loop loses the
 *   approvers in that loop (they are not independent of the person);
 * - the stage is rerouted to the approvers left, or, with nobody left, the
 *   request is cancelled (blocked) and must be filed again once the records
 *   are corrected.
 * Each step is audited. Runs inside the transaction that stores the identities.
 */
import { sql, type Kysely } from 'kysely';
import type { Identity } from '../domain/identity.ts';
import { appendAudit } from '../store/audit-log.ts';
import { identityFromRow } from '../store/identity-store.ts';
import type { Database } from '../store/database.ts';
import { raiseFinding } from './alert.ts';
import { MAX_CHAIN, selfApproval, type SelfApproval } from './risk-detectors.ts';

type Db = Kysely<Database>;

/** Before and after a re-fold (src/app/lifecycle-clock.ts). */
export interface IdentityChange {
  readonly before: Identity | null;
  readonly after: Identity;
}

const approvalData = (i: Identity) => [i.attributes.manager ?? null, i.sponsor, i.owner];

/**
 * Checks the identities whose manager, sponsor or owner changed; returns the
 * self-approvals found (each finding opened, each waiting approval rerouted or blocked).
 * @example await guardSelfApproval(trx, outcomes, new Date());
 */
export async function guardSelfApproval(db: Db, changes: readonly IdentityChange[], at: Date): Promise<readonly SelfApproval[]> {
  const changed = changes
    .filter((c) => c.after.status !== 'left' && (c.before === null || approvalData(c.before).some((v, i) => v !== approvalData(c.after)[i])))
    .map((c) => c.after);
  if (changed.length === 0) return [];
  const managerOf = await managersAround(db, changed);
  const judge = (identities: readonly Identity[]) => identities.map((i) => selfApproval(i, (key) => managerOf.get(key))).filter((s): s is SelfApproval => s !== null);
  const found = judge(changed);
  // The others in a loop this change closed are in it too, as the scan would find.
  const seen = new Set(found.map((f) => f.finding.subject));
  const others = [...new Set(found.flatMap((f) => f.loop))].filter((key) => !seen.has(key));
  if (others.length > 0) found.push(...judge((await db.selectFrom('identities').selectAll().where('key', 'in', others).where('status', '!=', 'left').execute()).map(identityFromRow)));
  for (const self of found) {
    await raiseFinding(db, self.finding, at);
    await takeApprovalsOutOfLoop(db, self, at);
  }
  return found;
}

/** Everyone's manager along the chains above `identities`, one query per level of management. */
async function managersAround(db: Db, identities: readonly Identity[]): Promise<Map<string, string | null>> {
  const managerOf = new Map<string, string | null>(identities.map((i) => [i.key, i.attributes.manager ?? null]));
  let frontier = [...new Set(identities.map((i) => i.attributes.manager).filter((m): m is string => !!m && !managerOf.has(m)))];
  for (let level = 0; level < MAX_CHAIN && frontier.length > 0; level++) {
    const rows = await db.selectFrom('identities').select(['key', 'attributes']).where('key', '=', sql<string>`ANY(${frontier}::text[])`).execute();
    for (const key of frontier) managerOf.set(key, null);
    for (const r of rows) managerOf.set(r.key, r.attributes.manager ?? null);
    frontier = [...new Set(rows.map((r) => r.attributes.manager).filter((m): m is string => !!m && !managerOf.has(m)))];
  }
  return managerOf;
}

async function takeApprovalsOutOfLoop(db: Db, self: SelfApproval, at: Date): Promise<void> {
  const loop = [...self.loop];
  const steps = await db
    .selectFrom('approval_steps as s')
    .innerJoin('access_requests as r', 'r.id', 's.request_id')
    .select(['s.id', 's.approvers', 's.stage_name', 'r.id as request_id', 'r.kind', 'r.identity_key', 'r.requester'])
    .where('r.state', '=', 'pending')
    .where('s.state', 'in', ['open', 'waiting'])
    .where((eb) => eb.or([eb('r.identity_key', 'in', loop), eb('r.requester', 'in', loop)]))
    .orderBy('s.id')
    .execute();
  const cancelled = new Set<string>();
  const reason = self.finding.detail;
  for (const step of steps) {
    if (cancelled.has(step.request_id)) continue;
    const approvers = step.approvers.filter((a) => !loop.includes(a) && a !== step.identity_key && a !== step.requester);
    if (approvers.length === step.approvers.length) continue;
    if (approvers.length > 0) {
      await db.updateTable('approval_steps').set({ approvers }).where('id', '=', step.id).execute();
      await appendAudit(db, { actor: 'jml', action: 'approval.reassigned', subject: step.identity_key, trigger: 'self_approver', details: { request: step.request_id, stage: step.stage_name, from: step.approvers, to: approvers, reason } }, at);
      continue;
    }
    cancelled.add(step.request_id);
    await db.updateTable('access_requests').set({ state: 'cancelled', decided_at: at.toISOString() }).where('id', '=', step.request_id).execute();
    await db.updateTable('approval_steps').set({ state: 'cancelled' }).where('request_id', '=', step.request_id).where('state', 'in', ['open', 'waiting']).execute();
    await appendAudit(db, { actor: 'jml', action: `${step.kind}.cancelled`, subject: step.identity_key, trigger: 'self_approver', details: { request: step.request_id, stage: step.stage_name, reason: `no approver outside the loop is left: ${reason}` } }, at);
  }
}
