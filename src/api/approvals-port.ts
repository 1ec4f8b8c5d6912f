/**
 * The approvals inbox and access requests of the console over the app layer
 * (src/app/approval.ts, src/app/access-request.ts). The inbox of an identity
 * is the open stages it is an approver of, as the approval route resolved
 * them (manager, system owner, security…). A decision goes to
 * `decideRequest`, which refuses anyone deciding their own request or one for
 * themselves; a request approved at its last stage asks the workers for a
 * replan of its identity.
 */
import type { Kysely } from 'kysely';
import { createAccessRequest, getAccessRequest, listAccessRequests, type AccessRequest } from '../app/access-request.ts';
import { decideRequest, listOpenApprovals } from '../app/approval.ts';
import { followUpDecision, type ReplanQueue } from '../app/replan-follow-up.ts';
import { JmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import type { Database } from '../store/database.ts';
import type { ApprovalItem, ApprovalPort } from './api-deps.ts';

export interface ApprovalsPortDeps {
  readonly db: Kysely<Database>;
  readonly policy: () => Promise<Pick<Policy, 'approvals' | 'systems' | 'entitlements' | 'roles'>>;
  readonly timezone?: string;
  readonly now: () => Date;
  /** Where a replan is asked for after a request is approved; absent: the next plan picks it up. */
  readonly replan?: ReplanQueue;
  /** Where a failed replan request is reported; the decision stands either way. */
  readonly warn?: (message: string) => void;
}

function summaryOf(r: AccessRequest): string {
  if (r.kind === 'edit') return r.justification;
  const what = r.kind === 'joiner' ? `joiner approval for ${r.identityKey}` : r.role ? `role ${r.role}` : r.entitlements.map((e) => `${e.system}:${e.entitlement}`).join(', ');
  return r.kind === 'exception' ? `exception: ${what}` : what;
}

/** Builds the port; every read goes to the store (nothing cached in process). */
export function createApprovalsPort(deps: ApprovalsPortDeps): ApprovalPort {
  const { db } = deps;

  /** Items for these requests, with the open stage and everyone named in any of their stages. */
  async function itemsOf(requests: readonly AccessRequest[]): Promise<Map<string, ApprovalItem>> {
    const ids = requests.map((r) => r.id);
    const steps = ids.length === 0 ? [] : await db.selectFrom('approval_steps').select(['request_id', 'stage_name', 'state', 'approvers']).where('request_id', 'in', ids).orderBy('stage').execute();
    const out = new Map<string, ApprovalItem>();
    for (const r of requests) {
      const mine = steps.filter((s) => s.request_id === r.id);
      out.set(r.id, {
        id: r.id,
        kind: 'access_request',
        identityKey: r.identityKey,
        summary: summaryOf(r),
        requestedBy: r.requester,
        requestedAt: r.createdAt,
        system: r.entitlements[0]?.system ?? null,
        stage: mine.find((s) => s.state === 'open')?.stage_name ?? null,
        approvers: [...new Set(mine.flatMap((s) => s.approvers))],
      });
    }
    return out;
  }

  async function get(id: string): Promise<ApprovalItem> {
    const request = await getAccessRequest(db, id);
    if (!request) throw new JmlError('not_found', `no request ${id}`);
    return (await itemsOf([request])).get(id)!;
  }

  return {
    async pending(approver) {
      const open = await listOpenApprovals(db, approver);
      const items = await itemsOf(open.map((o) => o.request));
      // The open stage's approvers, not every stage's: this is what the caller decides now.
      return open.map((o) => ({ ...items.get(o.requestId)!, approvers: [...o.approvers] }));
    },
    get,
    async decide(id, decision, approver, comment) {
      const request = await decideRequest(db, { requestId: id, approver, decision: decision === 'approve' ? 'approve' : 'deny', ...(comment ? { comment } : {}) }, deps.now());
      if (!deps.replan) return;
      try {
        await followUpDecision({ queue: deps.replan }, request);
      } catch (error) {
        (deps.warn ?? ((m) => process.stderr.write(`${m}\n`)))(`jml serve: replan after ${request.kind} ${request.id} not requested (${(error as Error).message}); the workers' next tick plans it`);
      }
    },
    async requestAccess(r) {
      const policy = await deps.policy();
      const { request } = await createAccessRequest(
        { db, policy, now: deps.now, ...(deps.timezone ? { timezone: deps.timezone } : {}) },
        {
          requester: r.requester, identityKey: r.identityKey, entitlement: `${r.system}:${r.entitlement}`, justification: r.justification,
          ...(r.durationDays !== undefined ? { durationDays: r.durationDays } : {}),
          ...(r.mitigation ? { mitigation: { control: r.mitigation.control, owner: r.mitigation.controlOwner } } : {}),
        },
      );
      return get(request.id);
    },
    async requestsOf(identityKey) {
      const requests = await listAccessRequests(db, { identityKey });
      const items = await itemsOf(requests.slice(0, 100));
      return requests.slice(0, 100).map((r) => ({ ...items.get(r.id)!, state: r.state }));
    },
  };
}
