/**
 * Approval decisions. Stages open one after another; any one approver of
 * the open stage decides it. Nobody decides a request they made or one for
 * themselves. An approved request becomes assignments (reason `request` or
 * `exception`, valid until its duration ends), an approved edit is recorded
 * (identity-edit-approval.ts); a denied one ends there. An
 * open stage past its timeout escalates; a leaver's requests are cancelled
 * and stages waiting on a leaver go to that leaver's manager.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { ApproverRef } from '../domain/policy.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import { getAccessRequest, type AccessRequest } from './access-request.ts';
import { recordApprovedEdit } from './identity-edit-approval.ts';
import { managementChain } from './management-chain.ts';

export interface Decision {
  readonly requestId: string;
  /** Identity key of who decides. */
  readonly approver: string;
  readonly decision: 'approve' | 'deny';
  readonly comment?: string;
}

export interface OpenApproval {
  readonly stepId: string;
  readonly requestId: string;
  readonly stage: number;
  readonly stageName: string;
  readonly approvers: readonly string[];
  readonly dueAt: string | null;
  readonly escalations: number;
  readonly request: AccessRequest;
}

/**
 * Decides the open stage of a request; returns the request as it now stands.
 * @example
 * await decideRequest(db, { requestId: 'req-1a2b3c4d', approver: 'M1', decision: 'approve' }, new Date());
 */
export async function decideRequest(db: Kysely<Database>, decision: Decision, now: Date): Promise<AccessRequest> {
  await db.transaction().execute(async (trx) => {
    const request = await trx.selectFrom('access_requests').selectAll().where('id', '=', decision.requestId).forUpdate().executeTakeFirst();
    if (!request) throw new JmlError('not_found', `no request ${decision.requestId}`);
    if (request.state !== 'pending') throw new JmlError('conflict', `request ${request.id} is already ${request.state}`);
    if (decision.approver === request.requester || decision.approver === request.identity_key) {
      throw new JmlError('forbidden', `${decision.approver} may not decide request ${request.id}: nobody approves their own request or one for themselves`);
    }
    const step = await trx.selectFrom('approval_steps').selectAll().where('request_id', '=', request.id).where('state', '=', 'open').executeTakeFirst();
    if (!step) throw new JmlError('conflict', `request ${request.id} has no open approval stage`);
    if (!step.approvers.includes(decision.approver)) {
      throw new JmlError('forbidden', `${decision.approver} is not an approver of stage ${step.stage_name} of request ${request.id} (approvers: ${step.approvers.join(', ')})`);
    }
    if (request.approver_outside_chain && (await managementChain(trx, request.requester)).includes(decision.approver)) {
      throw new JmlError('forbidden', `${decision.approver} is in the management chain of ${request.requester}, who asked: policy wants an approver outside it`);
    }
    const at = now.toISOString();
    const approved = decision.decision === 'approve';
    await trx.updateTable('approval_steps').set({ state: approved ? 'approved' : 'denied', decided_by: decision.approver, decided_at: at, comment: decision.comment ?? null }).where('id', '=', step.id).execute();
    await appendAudit(trx, { actor: decision.approver, action: approved ? 'approval.approved' : 'approval.denied', subject: request.identity_key, trigger: `request:${request.id}`, details: { stage: step.stage_name, comment: decision.comment ?? null } }, now);
    if (!approved) {
      await trx.updateTable('approval_steps').set({ state: 'cancelled' }).where('request_id', '=', request.id).where('state', '=', 'waiting').execute();
      await trx.updateTable('access_requests').set({ state: 'denied', decided_at: at }).where('id', '=', request.id).execute();
      await appendAudit(trx, { actor: decision.approver, action: `${request.kind}.denied`, subject: request.identity_key, trigger: `request:${request.id}` }, now);
      return;
    }
    const next = await trx.selectFrom('approval_steps').selectAll().where('request_id', '=', request.id).where('state', '=', 'waiting').orderBy('stage').executeTakeFirst();
    if (next) {
      await trx.updateTable('approval_steps').set({ state: 'open', due_at: new Date(now.getTime() + next.timeout_hours * 3_600_000).toISOString() }).where('id', '=', next.id).execute();
      return;
    }
    const validTo = request.duration_days ? new Date(now.getTime() + request.duration_days * 86_400_000).toISOString() : null;
    await trx.updateTable('access_requests').set({ state: 'approved', decided_at: at, valid_to: validTo }).where('id', '=', request.id).execute();
    if (request.kind === 'joiner') {
      await appendAudit(trx, { actor: decision.approver, action: 'joiner.approved', subject: request.identity_key, trigger: `request:${request.id}` }, now);
      return;
    }
    if (request.kind === 'edit') {
      await recordApprovedEdit(trx, request, now);
      await appendAudit(trx, { actor: decision.approver, action: 'edit.approved', subject: request.identity_key, trigger: `request:${request.id}`, details: { edit: request.edit } }, now);
      return;
    }
    const reasonType = request.kind === 'exception' ? 'exception' : 'request';
    for (const ref of request.entitlements) {
      const reason = reasonType === 'exception' ? { type: 'exception', exceptionId: request.id, justification: request.justification } : { type: 'request', requestId: request.id, roleChain: request.role ? [request.role] : [] };
      await trx
        .insertInto('assignments')
        .values({ id: `asg-${randomUUID().slice(0, 12)}`, identity_key: request.identity_key, system: ref.system, entitlement: ref.entitlement, reason_type: reasonType, reason: JSON.stringify(reason), valid_from: at, valid_to: validTo, created_by: decision.approver })
        .execute();
    }
    await appendAudit(trx, { actor: decision.approver, action: `${request.kind}.approved`, subject: request.identity_key, trigger: `request:${request.id}`, details: { entitlements: request.entitlements, validTo } }, now);
  });
  return (await getAccessRequest(db, decision.requestId))!;
}

/** Open stages, optionally only those a given identity may decide. */
export async function listOpenApprovals(db: Kysely<Database>, approver?: string): Promise<OpenApproval[]> {
  let query = db.selectFrom('approval_steps').selectAll().where('state', '=', 'open').orderBy('due_at');
  if (approver) query = query.where((eb) => eb(eb.val(approver), '=', eb.fn.any('approvers')));
  const steps = await query.limit(1000).execute();
  const out: OpenApproval[] = [];
  for (const s of steps) {
    const request = await getAccessRequest(db, s.request_id);
    if (!request) continue;
    out.push({ stepId: s.id, requestId: s.request_id, stage: s.stage, stageName: s.stage_name, approvers: s.approvers, dueAt: s.due_at?.toISOString() ?? null, escalations: s.escalations, request });
  }
  return out;
}

/**
 * Escalates every open stage past its due time: to the stage's `escalate_to`,
 * else to the current approvers' managers (never to the requester or the
 * beneficiary). Returns the step ids escalated.
 */
export async function escalateApprovals(db: Kysely<Database>, now: Date): Promise<string[]> {
  const due = await db
    .selectFrom('approval_steps as s')
    .innerJoin('access_requests as r', 'r.id', 's.request_id')
    .select(['s.id', 's.approvers', 's.escalate_to', 's.timeout_hours', 's.stage_name', 'r.requester', 'r.identity_key', 'r.id as request_id', 'r.approver_outside_chain'])
    .where('s.state', '=', 'open')
    .where('s.due_at', '<', now)
    .execute();
  const escalated: string[] = [];
  for (const step of due) {
    const exclude = await excludedApprovers(db, step);
    const ref = step.escalate_to as ApproverRef | null;
    let next = ref?.type === 'identities' ? ref.keys.filter((k) => !exclude.includes(k)) : [];
    if (next.length === 0) next = await managersOf(db, step.approvers, exclude);
    const approvers = next.length > 0 ? [...new Set([...step.approvers, ...next])] : step.approvers;
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('approval_steps')
        .set((eb) => ({ approvers, escalations: eb('escalations', '+', 1), due_at: new Date(now.getTime() + step.timeout_hours * 3_600_000).toISOString() }))
        .where('id', '=', step.id)
        .execute();
      await appendAudit(trx, { actor: 'scheduler', action: 'approval.escalated', subject: step.identity_key, trigger: `request:${step.request_id}`, details: { stage: step.stage_name, from: step.approvers, to: approvers } }, now);
    });
    escalated.push(step.id);
  }
  return escalated;
}

/** Who may never decide a request: its requester and beneficiary, and under four-eyes the requester's whole chain. */
async function excludedApprovers(db: Kysely<Database>, request: { readonly requester: string; readonly identity_key: string; readonly approver_outside_chain: boolean }): Promise<string[]> {
  const chain = request.approver_outside_chain ? await managementChain(db, request.requester) : [request.requester];
  return [...new Set([...chain, request.identity_key])];
}

async function managersOf(db: Kysely<Database>, keys: readonly string[], exclude: readonly string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const rows = await db.selectFrom('identities').select('attributes').where('key', 'in', keys).execute();
  const managers = rows.map((r) => r.attributes.manager).filter((m): m is string => !!m && !exclude.includes(m));
  if (managers.length === 0) return [];
  const active = await db.selectFrom('identities').select('key').where('key', 'in', managers).where('status', '!=', 'left').execute();
  return active.map((r) => r.key);
}

/**
 * Cancels pending requests made by or for identities that have left, and
 * hands stages waiting on a leaver to the leaver's manager. Level-triggered:
 * safe to run on every tick. Returns the request ids cancelled.
 */
export async function cancelForLeavers(db: Kysely<Database>, now: Date): Promise<string[]> {
  const left = db.selectFrom('identities').select('key').where('status', '=', 'left');
  const requests = await db
    .selectFrom('access_requests')
    .select(['id', 'identity_key', 'kind'])
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('identity_key', 'in', left), eb('requester', 'in', left)]))
    .execute();
  for (const r of requests) {
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('access_requests').set({ state: 'cancelled', decided_at: now.toISOString() }).where('id', '=', r.id).where('state', '=', 'pending').execute();
      await trx.updateTable('approval_steps').set({ state: 'cancelled' }).where('request_id', '=', r.id).where('state', 'in', ['open', 'waiting']).execute();
      await appendAudit(trx, { actor: 'scheduler', action: `${r.kind}.cancelled`, subject: r.identity_key, trigger: 'leaver', details: { request: r.id } }, now);
    });
  }
  const leftKeys = (await left.execute()).map((r) => r.key);
  if (leftKeys.length > 0) {
    const steps = await db.selectFrom('approval_steps as s').innerJoin('access_requests as r', 'r.id', 's.request_id').select(['s.id', 's.approvers', 'r.requester', 'r.identity_key', 'r.id as request_id', 'r.approver_outside_chain']).where('s.state', 'in', ['open', 'waiting']).where((eb) => eb.or(leftKeys.map((k) => eb(eb.val(k), '=', eb.fn.any('s.approvers'))))).execute();
    for (const step of steps) {
      const gone = step.approvers.filter((a) => leftKeys.includes(a));
      const stay = step.approvers.filter((a) => !leftKeys.includes(a));
      const successors = await managersOf(db, gone, [...(await excludedApprovers(db, step)), ...leftKeys]);
      const approvers = [...new Set([...stay, ...successors])];
      if (approvers.length === 0) continue; // nobody to hand it to: it stays visible and escalates on timeout
      await db.updateTable('approval_steps').set({ approvers }).where('id', '=', step.id).execute();
      await appendAudit(db, { actor: 'scheduler', action: 'approval.reassigned', subject: step.identity_key, trigger: 'leaver', details: { request: step.request_id, from: step.approvers, to: approvers } }, now);
    }
  }
  return requests.map((r) => r.id);
}

