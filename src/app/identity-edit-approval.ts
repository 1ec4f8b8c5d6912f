/**
 * Edits made in jml that would give an identity access wait for a second
 * person when an approval policy says `edits: true`: the edit is filed as an
 * access request of kind `edit` holding the proposed fields, routed through
 * that policy's stages (never to the editor or the identity itself), and
 * recorded only when the last stage approves. An edit that only removes
 * access takes effect at once: removing access never waits.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database, ProposedEdit } from '../store/database.ts';
import { getIdentity } from '../store/identity-store.ts';
import { insertStages, routeContext } from './access-request.ts';
import { editPolicyFor, editRoute, type RouteStage } from './approval-route.ts';
import { recordIdentityEdit, type IdentityEdit } from './identity-edit.ts';
import type { EditReview } from './identity-edit-guard.ts';

export interface HeldEdit {
  readonly requestId: string;
  readonly stages: readonly RouteStage[];
}

export interface EditApprovalDeps {
  readonly db: Kysely<Database>;
  readonly policy: Policy;
  readonly timezone: string;
  readonly now: Date;
}

type EditFields = Pick<IdentityEdit, 'identityKey' | 'attributes' | 'status' | 'owner' | 'sponsor'>;

/**
 * Files the edit for approval when it would give access and an edit policy
 * covers the identity; returns null when it may be recorded now.
 * @example const held = await holdEditForApproval({ db, policy, timezone: 'UTC', now }, edit, 'E9', review);
 */
export async function holdEditForApproval(deps: EditApprovalDeps, edit: EditFields, editor: string, review: EditReview): Promise<HeldEdit | null> {
  if (review.gained.length === 0) return null;
  const identity = await getIdentity(deps.db, edit.identityKey);
  if (!identity) throw new JmlError('not_found', `no identity with key ${edit.identityKey}`);
  const ctx = await routeContext({ db: deps.db, policy: deps.policy, timezone: deps.timezone }, [editor, identity.key], [], deps.now);
  const policy = editPolicyFor(ctx, identity);
  if (!policy) return null;
  const stages = editRoute(ctx, policy, editor, identity);
  const id = `req-${randomUUID().slice(0, 8)}`;
  const proposed: ProposedEdit = {
    ...(edit.attributes ? { attributes: { ...edit.attributes } } : {}),
    ...(edit.status !== undefined ? { status: edit.status } : {}),
    ...(edit.owner !== undefined ? { owner: edit.owner } : {}),
    ...(edit.sponsor !== undefined ? { sponsor: edit.sponsor } : {}),
    timezone: deps.timezone,
  };
  const gained = review.gained.map((g) => ({ system: g.system, entitlement: g.entitlement }));
  const at = deps.now.toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('access_requests')
      .values({ id, kind: 'edit', requester: editor, identity_key: identity.key, role: null, entitlements: JSON.stringify(gained), justification: `edit of ${identity.key}: ${review.changed.join(', ')}`, duration_days: null, state: 'pending', created_at: at, edit: JSON.stringify(proposed) })
      .execute();
    await insertStages(trx, id, stages, deps.now);
    await appendAudit(trx, { actor: editor, action: 'edit.requested', subject: identity.key, trigger: `request:${id}`, details: { policy: policy.name, changed: review.changed, gained, stages: stages.map((s) => ({ name: s.name, approvers: s.approvers })) } }, deps.now);
  });
  return { requestId: id, stages };
}

/** Records an approved edit as its editor's, triggered by the request; call inside the deciding transaction. */
export async function recordApprovedEdit(trx: Kysely<Database>, request: { readonly id: string; readonly requester: string; readonly identity_key: string; readonly edit: ProposedEdit | null }, now: Date): Promise<void> {
  if (!request.edit) throw new JmlError('internal', `edit request ${request.id} holds no edit`);
  const { timezone, ...fields } = request.edit;
  await recordIdentityEdit(trx, { identityKey: request.identity_key, ...fields, actor: request.requester, trigger: `request:${request.id}`, at: now, timezone });
}
