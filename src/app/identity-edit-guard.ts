/**
 * What an edit made in jml may not do, and what it would change, decided
 * before it is recorded (DESIGN safety rule 10):
 *
 * - nobody changes a field of their own identity that feeds policy (the
 *   fields rules, approval policies, templates and correlation read, plus
 *   manager, sponsor, owner, status and kind — see engine/policy-fields.ts);
 * - nobody makes themselves, directly or through someone below them, the
 *   manager, sponsor or owner of another identity: that would make them its
 *   approver, or its approver's escalation;
 * - no management cycle (nobody ends up above themselves);
 * - the access the identity would gain and lose is computed with the
 *   engine's own desired-state logic, so the caller can show it, and policy
 *   can ask for a second person's approval before it takes effect.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { AttributeValue, Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { accessDiff, describeReason, policyFields, type DesiredEntitlement } from '../engine/index.ts';
import type { Database } from '../store/database.ts';
import { getIdentity } from '../store/identity-store.ts';
import type { IdentityEdit } from './identity-edit.ts';
import { managementChain, refuseManagementCycle } from './management-chain.ts';
import { loadAssignments } from './plan-inputs.ts';

/** An entitlement an edit would add or remove, with the reasons that give it. */
export interface AccessChange {
  readonly system: string;
  readonly entitlement: string;
  readonly reasons: readonly string[];
}

export interface EditReview {
  /** Why this actor may not make this edit; null when they may. The caller audits the refusal. */
  readonly refusal: string | null;
  /** The fields the edit changes (attribute names, `status`, `owner`, `sponsor`). */
  readonly changed: readonly string[];
  readonly gained: readonly AccessChange[];
  readonly lost: readonly AccessChange[];
}

type EditFields = Pick<IdentityEdit, 'identityKey' | 'attributes' | 'status' | 'owner' | 'sponsor'>;

/**
 * Reviews an edit by `actorKey` (the editor's own identity key, or null for a
 * console user linked to no identity). Throws not_found for an unknown
 * identity and invalid_input for an edit that would make a management cycle.
 * @example
 * const review = await reviewIdentityEdit(db, policy, { identityKey: 'E2', attributes: { department: 'finance' } }, 'E9', new Date());
 * if (review.refusal) throw new JmlError('forbidden', review.refusal);
 */
export async function reviewIdentityEdit(db: Kysely<Database>, policy: Policy, edit: EditFields, actorKey: string | null, now: Date, timezone = 'UTC'): Promise<EditReview> {
  const before = await getIdentity(db, edit.identityKey);
  if (!before) throw new JmlError('not_found', `no identity with key ${edit.identityKey}`);
  const after = applied(before, edit);
  const changed = changedFields(before, after);
  const { gained, lost } = accessDiff(before, after, policy, await loadAssignments(db, before.key), now.toISOString(), { timeZone: timezone });
  const shown = (d: DesiredEntitlement): AccessChange => ({ system: d.system, entitlement: d.entitlement, reasons: d.reasons.map(describeReason) });
  const review = (refusal: string | null): EditReview => ({ refusal, changed, gained: gained.map(shown), lost: lost.map(shown) });

  if (actorKey !== null && actorKey === before.key) {
    const driving = policyFields(policy);
    const own = changed.filter((f) => driving.has(f));
    if (own.length > 0) return review(`nobody changes the fields of their own identity that decide access or its approvers (${own.join(', ')}); ask someone else`);
  }
  const relations: readonly (readonly ['manager' | 'sponsor' | 'owner', string | null])[] = [
    ['manager', after.attributes.manager ?? null],
    ['sponsor', after.sponsor],
    ['owner', after.owner],
  ];
  for (const [relation, key] of relations) {
    if (key === null || !changed.includes(relation)) continue;
    if (key === before.key) throw new JmlError('invalid_input', `${before.key} cannot be their own ${relation}`, { details: { field: relation } });
    if (relation === 'manager') await refuseManagementCycle(db, before.key, key);
    const chain = await managementChain(db, key);
    if (actorKey !== null && chain.includes(actorKey)) {
      const how = key === actorKey ? 'themselves' : `${key}, who reports to them`;
      return review(`nobody makes ${how} the ${relation} of ${before.key}: the ${relation} approves their access`);
    }
  }
  return review(null);
}

function applied(before: Identity, edit: EditFields): Identity {
  const attributes: Record<string, AttributeValue> = { ...before.attributes };
  for (const [name, value] of Object.entries(edit.attributes ?? {})) attributes[name] = value;
  return {
    ...before,
    attributes,
    ...(edit.status !== undefined ? { status: edit.status } : {}),
    ...(edit.owner !== undefined ? { owner: edit.owner } : {}),
    ...(edit.sponsor !== undefined ? { sponsor: edit.sponsor } : {}),
  };
}

function changedFields(before: Identity, after: Identity): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(before.attributes), ...Object.keys(after.attributes)])) {
    if ((before.attributes[name] ?? null) !== (after.attributes[name] ?? null)) out.push(name);
  }
  for (const field of ['status', 'owner', 'sponsor'] as const) if (before[field] !== after[field]) out.push(field);
  return out;
}

