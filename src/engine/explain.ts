/**
 * Read-only views over the engine for people: `jml explain` (desired versus
 * actual access of one identity, with reasons) and `jml policy diff` (who would
 * gain or lose what if a new policy were loaded).
 */
import type { Account, Assignment, AssignmentReason, EnforcementMode, Grant } from '../domain/access.ts';
import type { Identity, IdentityStatus } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { compilePolicy } from './compiled-policy.ts';
import { dateIn } from './org-calendar.ts';
import { describeReason, desiredIndex, flattenDesired, type DesiredEntitlement, type EngineOptions, type UnresolvedTemplate } from './desired.ts';

export interface ExplainedEntitlement {
  readonly system: string;
  readonly entitlement: string;
  /** ok: desired and held · missing: desired, not held · not_desired: held without a reason. */
  readonly state: 'ok' | 'missing' | 'not_desired';
  readonly reasons: readonly AssignmentReason[];
  /** The reasons in words. */
  readonly because: readonly string[];
  /** The accounts holding it. */
  readonly accountIds: readonly string[];
  /** The system's mode: with `not_desired`, full and (for jml's own grants) relative remove it. */
  readonly enforcement: EnforcementMode | null;
}

export interface Explanation {
  readonly identityKey: string;
  readonly status: IdentityStatus;
  readonly accounts: readonly Pick<Account, 'system' | 'accountId' | 'name' | 'enabled'>[];
  /** Sorted by system, then entitlement. */
  readonly entitlements: readonly ExplainedEntitlement[];
  /** Entitlement templates of matching rules that name no group: a field they read is missing. Absent when none. */
  readonly unresolved?: readonly UnresolvedTemplate[];
}

/**
 * Desired versus actual access of one identity.
 * @param observed the identity's linked accounts and their grants (the caller resolves links).
 */
export function explain(
  identity: Identity,
  policy: Policy,
  assignments: readonly Assignment[],
  observed: { readonly accounts: readonly Account[]; readonly grants: readonly Grant[] },
  now: string,
  options: EngineOptions = {},
): Explanation {
  const compiled = compilePolicy(policy);
  const unresolved: UnresolvedTemplate[] = [];
  const index = desiredIndex(identity, compiled, assignments, Date.parse(now), dateIn(now, options.timeZone ?? 'UTC'), unresolved);
  const accountIds = new Set(observed.accounts.map((a) => `${a.system}\u0000${a.accountId}`));
  const heldBy = new Map<string, string[]>();
  for (const grant of observed.grants) {
    if (!accountIds.has(`${grant.system}\u0000${grant.accountId}`)) continue;
    const key = `${grant.system}\u0000${grant.entitlement}`;
    heldBy.set(key, [...(heldBy.get(key) ?? []), grant.accountId]);
  }
  const entries = new Map<string, ExplainedEntitlement>();
  const enforcement = (system: string) => compiled.systems.get(system)?.def.enforcement ?? null;
  for (const d of flattenDesired(index)) {
    const key = `${d.system}\u0000${d.entitlement}`;
    const holders = heldBy.get(key) ?? [];
    entries.set(key, {
      system: d.system,
      entitlement: d.entitlement,
      state: holders.length > 0 ? 'ok' : 'missing',
      reasons: d.reasons,
      because: d.reasons.map(describeReason),
      accountIds: holders,
      enforcement: enforcement(d.system),
    });
  }
  for (const [key, holders] of heldBy) {
    if (entries.has(key)) continue;
    const [system = '', entitlement = ''] = key.split('\u0000');
    entries.set(key, { system, entitlement, state: 'not_desired', reasons: [], because: [], accountIds: holders, enforcement: enforcement(system) });
  }
  return {
    identityKey: identity.key,
    status: identity.status,
    accounts: observed.accounts.map(({ system, accountId, name, enabled }) => ({ system, accountId, name, enabled })),
    entitlements: [...entries.values()].sort((a, b) =>
      a.system < b.system ? -1 : a.system > b.system ? 1 : a.entitlement < b.entitlement ? -1 : a.entitlement > b.entitlement ? 1 : 0),
    ...(unresolved.length > 0 ? { unresolved } : {}),
  };
}

export interface PolicyDiffEntry {
  readonly identityKey: string;
  /** Desired under the new policy only, with the new reasons. */
  readonly gained: readonly DesiredEntitlement[];
  /** Desired under the old policy only, with the old reasons. */
  readonly lost: readonly DesiredEntitlement[];
}

/**
 * Who would gain or lose which entitlements if `newPolicy` replaced `oldPolicy`;
 * identities whose desired access does not change are left out.
 */
export function policyDiff(
  identities: readonly Identity[],
  oldPolicy: Policy,
  newPolicy: Policy,
  assignments: readonly Assignment[],
  now: string,
  options: EngineOptions = {},
): PolicyDiffEntry[] {
  const before = compilePolicy(oldPolicy);
  const after = compilePolicy(newPolicy);
  const nowMs = Date.parse(now);
  const today = dateIn(now, options.timeZone ?? 'UTC');
  const byIdentity = new Map<string, Assignment[]>();
  for (const a of assignments) byIdentity.set(a.identityKey, [...(byIdentity.get(a.identityKey) ?? []), a]);
  const out: PolicyDiffEntry[] = [];
  for (const identity of [...identities].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const own = byIdentity.get(identity.key) ?? [];
    const { gained, lost } = gainedAndLost(flattenDesired(desiredIndex(identity, before, own, nowMs, today)), flattenDesired(desiredIndex(identity, after, own, nowMs, today)));
    if (gained.length > 0 || lost.length > 0) out.push({ identityKey: identity.key, gained, lost });
  }
  return out;
}

/**
 * What one identity would gain and lose if its fields changed from `before`
 * to `after` under the same policy: the impact of an edit, shown before it
 * takes effect.
 * @example accessDiff(identity, { ...identity, attributes: { ...identity.attributes, department: 'finance' } }, policy, [], now)
 */
export function accessDiff(
  before: Identity,
  after: Identity,
  policy: Policy,
  assignments: readonly Assignment[],
  now: string,
  options: EngineOptions = {},
): Omit<PolicyDiffEntry, 'identityKey'> {
  const compiled = compilePolicy(policy);
  const nowMs = Date.parse(now);
  const today = dateIn(now, options.timeZone ?? 'UTC');
  return gainedAndLost(flattenDesired(desiredIndex(before, compiled, assignments, nowMs, today)), flattenDesired(desiredIndex(after, compiled, assignments, nowMs, today)));
}

function gainedAndLost(was: readonly DesiredEntitlement[], will: readonly DesiredEntitlement[]): { gained: DesiredEntitlement[]; lost: DesiredEntitlement[] } {
  const id = (d: DesiredEntitlement) => `${d.system}\u0000${d.entitlement}`;
  const wasIds = new Set(was.map(id));
  const willIds = new Set(will.map(id));
  return { gained: will.filter((d) => !wasIds.has(id(d))), lost: was.filter((d) => !willIds.has(id(d))) };
}
