/**
 * Access requests and exceptions. An identity asks for an entitlement or a
 * role for itself, or a manager for one of their reports, with a
 * justification and a duration (capped by each entitlement's
 * max_duration_days). An exception is access policy would not give: it must
 * be time-bound, and stays listed for review until it ends. Both go through
 * approval stages (src/app/approval.ts); approved, they become assignments.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { EntitlementRef } from '../domain/access.ts';
import { JmlError } from '../domain/errors.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { dateIn } from '../engine/org-calendar.ts';
import { isTemplate } from '../engine/account-template.ts';
import { entitlementDefFor } from '../engine/compiled-policy.ts';
import { appendAudit } from '../store/audit-log.ts';
import { identityFromRow } from '../store/identity-store.ts';
import type { AccessRequestsTable, Database } from '../store/database.ts';
import { approvalRoute, policyFor, type RouteContext, type RouteStage } from './approval-route.ts';
import { checkSodForRequest, type SodMitigationInput } from './sod-request-gate.ts';

export interface RequestDeps {
  readonly db: Kysely<Database>;
  readonly policy: Pick<Policy, 'approvals' | 'systems' | 'entitlements' | 'roles' | 'sod'>;
  readonly timezone?: string;
  readonly now?: () => Date;
}

export interface AccessRequestInput {
  readonly kind?: 'request' | 'exception';
  /** Identity key of who asks. */
  readonly requester: string;
  /** Identity key of who would hold the access. */
  readonly identityKey: string;
  /** `system:entitlement`, or give `role`. */
  readonly entitlement?: string;
  readonly role?: string;
  readonly justification: string;
  readonly durationDays?: number;
  /** For access that would break an SoD rule: the compensating control that lets it stand, as an exception. */
  readonly mitigation?: SodMitigationInput;
}

export interface AccessRequest {
  readonly id: string;
  readonly kind: 'request' | 'exception' | 'joiner' | 'edit';
  readonly requester: string;
  readonly identityKey: string;
  readonly role: string | null;
  readonly entitlements: readonly EntitlementRef[];
  readonly justification: string;
  readonly durationDays: number | null;
  readonly state: 'pending' | 'approved' | 'denied' | 'cancelled';
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly validTo: string | null;
  /** An SoD mitigation: the rule it lets the access break, the compensating control and its owner. */
  readonly sod: { readonly rule: string; readonly control: string; readonly controlOwner: string } | null;
}

/**
 * Files a request (or exception) and opens its first approval stage.
 * @example
 * const req = await createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'wiki:editors', justification: 'docs sprint', durationDays: 30 });
 */
export async function createAccessRequest(deps: RequestDeps, input: AccessRequestInput): Promise<{ request: AccessRequest; stages: RouteStage[] }> {
  const now = (deps.now ?? (() => new Date()))();
  let kind = input.kind ?? 'request';
  if (input.justification.trim().length < 3) throw new JmlError('invalid_input', 'a request needs a justification');
  if ((input.entitlement === undefined) === (input.role === undefined)) throw new JmlError('invalid_input', 'request either an entitlement (system:name) or a role');
  const refs = input.role ? roleEntitlements(deps.policy, input.role) : [parseRef(deps.policy, input.entitlement!)];
  const template = refs.find((r) => isTemplate(r.entitlement));
  if (template) {
    throw new JmlError('invalid_input', `${template.system}:${template.entitlement} is an entitlement template: rules grant it from identity attributes; request the group it names instead`, {
      details: { entitlement: `${template.system}:${template.entitlement}` },
    });
  }
  const ctx = await routeContext(deps, [input.requester, input.identityKey], refs, now);
  const beneficiary = ctx.identity(input.identityKey);
  if (!beneficiary) throw new JmlError('not_found', `no identity ${input.identityKey}`);
  if (beneficiary.status === 'left') throw new JmlError('invalid_input', `${input.identityKey} has left; nothing can be requested for them`);
  if (input.requester !== input.identityKey && beneficiary.attributes.manager !== input.requester) {
    throw new JmlError('forbidden', `${input.requester} may request access only for themselves or for their reports`, { details: { requester: input.requester, identity: input.identityKey } });
  }
  const cap = refs.map((r) => entitlementDefFor(deps.policy.entitlements, r.system, r.entitlement)?.maxDurationDays ?? null).filter((d): d is number => d !== null);
  const maxDays = cap.length > 0 ? Math.min(...cap) : null;
  if (kind === 'exception' && input.durationDays === undefined) throw new JmlError('invalid_input', 'an exception must be time-bound: give a duration in days');
  if (input.durationDays !== undefined && (!Number.isInteger(input.durationDays) || input.durationDays < 1)) throw new JmlError('invalid_input', 'duration must be a whole number of days, at least 1');
  if (maxDays !== null && input.durationDays !== undefined && input.durationDays > maxDays) {
    throw new JmlError('invalid_input', `at most ${maxDays} days may be requested for ${refs.map((r) => `${r.system}:${r.entitlement}`).join(', ')}`, { details: { maxDays } });
  }
  const durationDays = input.durationDays ?? maxDays;
  const sod = await checkSodForRequest(deps.db, deps.policy, input.identityKey, refs, input.mitigation ? (input.durationDays ?? null) : durationDays, input.mitigation);
  const stages = approvalRoute(ctx, input.requester, beneficiary, refs);
  // A mitigation is an exception: time-bound, reviewed, and decided last by the SoD rule's owner.
  if (sod.mitigation) {
    kind = 'exception';
    stages.push(sod.mitigation.stage);
  }
  const outsideChain = refs.some((r) => policyFor(ctx, beneficiary, r)?.approverOutsideChain === true);
  const id = `req-${randomUUID().slice(0, 8)}`;
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('access_requests')
      .values({ id, kind, requester: input.requester, identity_key: input.identityKey, role: input.role ?? null, entitlements: JSON.stringify(refs), justification: input.justification, duration_days: durationDays, state: 'pending', created_at: now.toISOString(), approver_outside_chain: outsideChain,
        sod_rule: sod.mitigation?.rule ?? null, compensating_control: sod.mitigation?.control ?? null, control_owner: sod.mitigation?.owner ?? null })
      .execute();
    await insertStages(trx, id, stages, now);
    await appendAudit(trx, { actor: input.requester, action: `${kind}.created`, subject: input.identityKey, trigger: `request:${id}`, details: { entitlements: refs, role: input.role ?? null, durationDays, justification: input.justification, stages: stages.map((s) => ({ name: s.name, approvers: s.approvers })),
      ...(sod.mitigation ? { sod: { rule: sod.mitigation.rule, control: sod.mitigation.control, controlOwner: sod.mitigation.owner, pairs: sod.violations.map((v) => v.pair) } } : {}) } }, now);
  });
  return { request: (await getAccessRequest(deps.db, id))!, stages };
}

export async function insertStages(trx: Kysely<Database>, requestId: string, stages: readonly RouteStage[], now: Date): Promise<void> {
  if (stages.length === 0) return;
  await trx
    .insertInto('approval_steps')
    .values(
      stages.map((s, i) => ({
        id: `${requestId}-${i + 1}`,
        request_id: requestId,
        stage: i + 1,
        stage_name: s.name,
        approvers: [...s.approvers],
        state: i === 0 ? ('open' as const) : ('waiting' as const),
        due_at: i === 0 ? new Date(now.getTime() + s.timeoutHours * 3_600_000).toISOString() : null,
        timeout_hours: s.timeoutHours,
        escalate_to: s.escalateTo ? JSON.stringify(s.escalateTo) : null,
      })),
    )
    .execute();
}

export async function getAccessRequest(db: Kysely<Database>, id: string): Promise<AccessRequest | undefined> {
  const row = await db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRequest(row) : undefined;
}

export async function listAccessRequests(db: Kysely<Database>, filter: { readonly identityKey?: string; readonly state?: AccessRequest['state']; readonly kind?: AccessRequest['kind'] } = {}): Promise<AccessRequest[]> {
  let query = db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(1000);
  if (filter.identityKey) query = query.where('identity_key', '=', filter.identityKey);
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  return (await query.execute()).map(toRequest);
}

/** Exceptions in force (approved, not yet ended), soonest to end first: the review list. */
export async function exceptionsForReview(db: Kysely<Database>, now: Date): Promise<(AccessRequest & { readonly daysLeft: number })[]> {
  const rows = await db.selectFrom('access_requests').selectAll().where('kind', '=', 'exception').where('state', '=', 'approved').where('valid_to', '>', now).orderBy('valid_to').execute();
  return rows.map((r) => ({ ...toRequest(r), daysLeft: Math.ceil((r.valid_to!.getTime() - now.getTime()) / 86_400_000) }));
}

function parseRef(policy: RequestDeps['policy'], text: string): EntitlementRef {
  const at = text.indexOf(':');
  if (at < 1) throw new JmlError('invalid_input', `write the entitlement as system:name, not ${JSON.stringify(text)}`);
  const ref = { system: text.slice(0, at), entitlement: text.slice(at + 1) };
  if (!policy.systems.some((s) => s.name === ref.system)) throw new JmlError('not_found', `no system ${ref.system} in policy`, { details: { entitlement: text } });
  // Only what the catalogue offers may be asked for: an unknown name would be routed, approved and then fail (or worse, match a group jml does not govern).
  // A group an entitlement template names is in the catalogue through its template.
  if (!entitlementDefFor(policy.entitlements, ref.system, ref.entitlement)) {
    throw new JmlError('not_found', `no entitlement ${ref.system}:${ref.entitlement} in the catalogue (policy entitlements)`, { details: { entitlement: text } });
  }
  return ref;
}

/** The entitlements a role induces, through nested roles, in order. */
export function roleEntitlements(policy: Pick<Policy, 'roles'>, role: string, seen = new Set<string>()): EntitlementRef[] {
  const def = policy.roles.find((r) => r.name === role);
  if (!def) throw new JmlError('not_found', `no role ${role} in policy`);
  if (seen.has(role)) return [];
  seen.add(role);
  const out: EntitlementRef[] = [];
  for (const i of def.inducements) {
    if (i.type === 'entitlement') out.push({ system: i.system, entitlement: i.entitlement });
    else out.push(...roleEntitlements(policy, i.role, seen));
  }
  return out.filter((r, idx) => out.findIndex((o) => o.system === r.system && o.entitlement === r.entitlement) === idx);
}

/** Levels of management loaded above the people named; deeper organisations are rare. */
const MAX_CHAIN_ROUNDS = 16;

/** Loads the identities a route may consult: the people named, approvers in policy, and their managers. */
export async function routeContext(deps: RequestDeps, keys: readonly string[], refs: readonly EntitlementRef[], now: Date): Promise<RouteContext> {
  const wanted = new Set(keys);
  for (const a of deps.policy.approvals) for (const s of a.stages) for (const ref of [s.approver, s.escalateTo]) if (ref?.type === 'identities') ref.keys.forEach((k) => wanted.add(k));
  for (const r of refs) {
    const owner = deps.policy.systems.find((s) => s.name === r.system)?.owner;
    if (owner) wanted.add(owner);
  }
  const identities = new Map<string, Identity>();
  // Rounds: the people, their managers/sponsors/owners, those approvers' managers (escalation), and on up
  // the management chains, which an approval policy with approver_outside_chain needs whole.
  for (let round = 0; round < MAX_CHAIN_ROUNDS && wanted.size > 0; round++) {
    const rows = await deps.db.selectFrom('identities').selectAll().where('key', 'in', [...wanted]).execute();
    wanted.clear();
    for (const row of rows) {
      const identity = identityFromRow(row);
      identities.set(identity.key, identity);
      for (const k of [identity.attributes.manager, identity.sponsor, identity.owner]) if (k && !identities.has(k)) wanted.add(k);
    }
  }
  return { policy: deps.policy, identity: (k) => identities.get(k), today: dateIn(now, deps.timezone ?? 'UTC') };
}


export function toRequest(row: Selectable<AccessRequestsTable>): AccessRequest {
  return {
    id: row.id,
    kind: row.kind,
    requester: row.requester,
    identityKey: row.identity_key,
    role: row.role,
    entitlements: row.entitlements,
    justification: row.justification,
    durationDays: row.duration_days,
    state: row.state,
    createdAt: row.created_at.toISOString(),
    decidedAt: row.decided_at?.toISOString() ?? null,
    validTo: row.valid_to?.toISOString() ?? null,
    sod: row.sod_rule ? { rule: row.sod_rule, control: row.compensating_control ?? '', controlOwner: row.control_owner ?? '' } : null,
  };
}
