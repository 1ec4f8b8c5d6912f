/**
 * What a policy change does to separation of duties: the violations the new
 * policy's access (birthright rules plus requests and exceptions) would
 * create, and those it would resolve, judged by each policy's own SoD rules.
 */
import type { Assignment } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { desired, type EngineOptions } from './desired.ts';
import { sodViolations, type SodViolation } from './sod.ts';

export interface SodPolicyDiff {
  readonly created: readonly SodViolation[];
  readonly resolved: readonly SodViolation[];
}

/**
 * Violations under `newPolicy` that `oldPolicy` did not have (created) and the reverse (resolved), per identity and rule.
 * @example const { created } = sodPolicyDiff(identities, current, proposed, assignments, now);
 */
export function sodPolicyDiff(identities: readonly Identity[], oldPolicy: Policy, newPolicy: Policy, assignments: readonly Assignment[], now: string, options: EngineOptions = {}): SodPolicyDiff {
  if ((oldPolicy.sod ?? []).length === 0 && (newPolicy.sod ?? []).length === 0) return { created: [], resolved: [] };
  const byIdentity = new Map<string, Assignment[]>();
  for (const a of assignments) byIdentity.set(a.identityKey, [...(byIdentity.get(a.identityKey) ?? []), a]);
  const created: SodViolation[] = [];
  const resolved: SodViolation[] = [];
  const under = (policy: Policy, identity: Identity) =>
    sodViolations(policy, identity.key, desired(identity, policy, byIdentity.get(identity.key) ?? [], now, options).entitlements);
  const key = (v: SodViolation) => `${v.rule}\u0000${v.pair.join('\u0000')}`;
  for (const identity of [...identities].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const before = under(oldPolicy, identity);
    const after = under(newPolicy, identity);
    const was = new Set(before.map(key));
    const is = new Set(after.map(key));
    created.push(...after.filter((v) => !was.has(key(v))));
    resolved.push(...before.filter((v) => !is.has(key(v))));
  }
  return { created, resolved };
}
