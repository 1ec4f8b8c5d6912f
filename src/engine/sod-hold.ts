/**
 * The SoD gate of a plan: a grant a rule (birthright) or a mover would add is
 * held, not applied, when it would give the identity a combination an SoD
 * rule forbids. Grants from a request or an exception are not held here: they
 * passed the same check when they were asked for (src/app/sod-request-gate.ts),
 * and a mitigation is approved access. Removals are never held.
 */
import type { EntitlementRef } from '../domain/access.ts';
import type { Change, SodHeldChange } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import type { DesiredIndex } from './desired.ts';
import { newSodViolations } from './sod.ts';

/**
 * Splits one identity's changes: add_grant changes that would create an SoD
 * violation (and whatever depends on them) are held, each with the rule as its reason.
 * @example const { kept, held } = holdSodConflicts(policy, 'E1', changes, heldNow, desired);
 */
export function holdSodConflicts(
  policy: Policy,
  identityKey: string,
  changes: readonly Change[],
  heldNow: readonly EntitlementRef[],
  desired: DesiredIndex,
): { readonly kept: Change[]; readonly held: SodHeldChange[] } {
  const fromRules = changes.filter((c) => c.kind === 'add_grant' && (desired.get(c.system!)?.get(c.entitlement!)?.reasons ?? []).every((r) => r.type === 'rule'));
  if (fromRules.length === 0) return { kept: [...changes], held: [] };
  const approved = changes.filter((c) => c.kind === 'add_grant' && !fromRules.includes(c)).map((c) => ({ system: c.system!, entitlement: c.entitlement! }));
  const base = [...heldNow, ...approved];
  const violations = newSodViolations(policy, identityKey, base, fromRules.map((c) => ({ system: c.system!, entitlement: c.entitlement! })));
  if (violations.length === 0) return { kept: [...changes], held: [] };
  const reasonOf = new Map<string, SodHeldChange>();
  for (const change of fromRules) {
    const ref = `${change.system}:${change.entitlement}`;
    const v = violations.find((x) => x.pair.includes(ref));
    if (v) reasonOf.set(change.id, { changeId: change.id, identityKey, rule: v.rule, severity: v.severity, pair: v.pair, reason: change.reason });
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const c of changes) {
      const blocker = reasonOf.has(c.id) ? undefined : c.dependsOn.map((d) => reasonOf.get(d)).find((r) => r !== undefined);
      if (blocker) {
        reasonOf.set(c.id, { ...blocker, changeId: c.id, reason: c.reason });
        grew = true;
      }
    }
  }
  return { kept: changes.filter((c) => !reasonOf.has(c.id)), held: changes.filter((c) => reasonOf.has(c.id)).map((c) => reasonOf.get(c.id)!) };
}
