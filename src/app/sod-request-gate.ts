/**
 * The preventive SoD check on access requests. A request whose access would
 * break an SoD rule is refused, unless it comes as a mitigation: an exception
 * naming a compensating control the rule allows, who owns that control, and a
 * duration within the rule's limit. A mitigation gets one more approval stage,
 * decided by the rule's owner.
 */
import type { Kysely } from 'kysely';
import type { EntitlementRef } from '../domain/access.ts';
import { JmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import { describeSodViolation, newSodViolations, sodRule, type SodViolation } from '../engine/sod.ts';
import type { Database } from '../store/database.ts';
import type { RouteStage } from './approval-route.ts';

/** What a requester offers to stand a violation: the compensating control and who runs it. */
export interface SodMitigationInput {
  readonly control: string;
  /** Identity key of the person accountable for the control. */
  readonly owner: string;
}

export interface SodGateResult {
  readonly violations: readonly SodViolation[];
  /** Present when the request goes ahead as a mitigation. */
  readonly mitigation?: { readonly rule: string; readonly control: string; readonly owner: string; readonly stage: RouteStage };
}

/**
 * What the identity holds now, as far as jml knows: its active assignments
 * (requests, exceptions) and the grants the latest reconcile of each system saw.
 */
export async function heldEntitlements(db: Kysely<Database>, identityKey: string): Promise<EntitlementRef[]> {
  const assigned = await db.selectFrom('assignments').select(['system', 'entitlement']).where('identity_key', '=', identityKey).where('state', '=', 'active').execute();
  const observed = await db
    .selectFrom('observed_grants as g')
    .innerJoin('observed_accounts as a', (j) => j.onRef('a.run_id', '=', 'g.run_id').onRef('a.account_id', '=', 'g.account_id'))
    .innerJoin('reconcile_runs as r', 'r.id', 'g.run_id')
    .select(['g.system', 'g.entitlement'])
    .where('a.identity_key', '=', identityKey)
    .where('r.status', '=', 'completed')
    .execute();
  return [...assigned, ...observed];
}

/**
 * Checks `refs` for `identityKey` against the policy's SoD rules.
 * @throws JmlError('conflict') naming the rule and the pair when a violation has no acceptable mitigation.
 */
export async function checkSodForRequest(
  db: Kysely<Database>,
  policy: Pick<Policy, 'sod' | 'roles'>,
  identityKey: string,
  refs: readonly EntitlementRef[],
  durationDays: number | null,
  mitigation: SodMitigationInput | undefined,
): Promise<SodGateResult> {
  if (!policy.sod || policy.sod.length === 0) return { violations: [] };
  const full = policy as Policy;
  const violations = newSodViolations(full, identityKey, await heldEntitlements(db, identityKey), refs);
  if (violations.length === 0) return { violations };
  const details = { violations: violations.map((v) => ({ rule: v.rule, pair: v.pair, severity: v.severity })) };
  const what = violations.map(describeSodViolation).join('; ');
  if (!mitigation) {
    throw new JmlError('conflict', `refused: ${what}. Ask for it as an exception with a compensating control the rule allows`, { details });
  }
  if (violations.length > 1) throw new JmlError('conflict', `refused: ${what}. One mitigation covers one SoD rule; split the request`, { details });
  const v = violations[0]!;
  const rule = sodRule(full, v.rule)!;
  if (!rule.mitigations.includes(mitigation.control)) {
    const allowed = rule.mitigations.length > 0 ? `allowed: ${rule.mitigations.join(', ')}` : 'this rule allows no mitigation';
    throw new JmlError('conflict', `SoD rule ${rule.name} does not accept the compensating control "${mitigation.control}" (${allowed})`, { details });
  }
  if (durationDays === null || durationDays > rule.maxMitigationDays) {
    throw new JmlError('invalid_input', `a mitigation of SoD rule ${rule.name} must end within ${rule.maxMitigationDays} days; give a duration`, { details: { ...details, maxDays: rule.maxMitigationDays } });
  }
  if (mitigation.owner.trim() === '' || mitigation.owner === identityKey) {
    throw new JmlError('invalid_input', 'the compensating control needs an owner other than the person holding the access', { details });
  }
  return {
    violations,
    mitigation: { rule: rule.name, control: mitigation.control, owner: mitigation.owner, stage: { name: `sod:${rule.name}`, approvers: [rule.owner], timeoutHours: 72, escalateTo: null } },
  };
}
