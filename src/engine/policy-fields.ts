/**
 * The identity fields that decide access under a policy: every field a rule
 * or an approval policy's condition reads, every field an account template, an
 * entitlement template or a correlation reads, and always the fields approval routing and the
 * lifecycle hang on (manager, sponsor, owner, status, kind). Whoever may
 * change one of these on their own identity may change their own access, so
 * nobody may (DESIGN safety rule 10).
 */
import type { Policy } from '../domain/policy.ts';
import { compileTemplate, templateFields } from './account-template.ts';
import { conditionFields } from './condition.ts';

/** Fields that decide access or who approves it, whatever the policy says. */
export const ALWAYS_POLICY_FIELDS: readonly string[] = ['manager', 'sponsor', 'owner', 'status', 'kind'];

/**
 * The identity fields (attribute names and `status`, `kind`, `owner`, `sponsor`) that feed `policy`.
 * @example policyFields(policy).has('department') // true when a rule tests the department
 */
export function policyFields(policy: Pick<Policy, 'rules' | 'approvals' | 'systems'> & Partial<Pick<Policy, 'entitlements'>>): ReadonlySet<string> {
  const out = new Set<string>(ALWAYS_POLICY_FIELDS);
  const fieldsOf = (template: string) => templateFields(compileTemplate(template));
  for (const rule of policy.rules) conditionFields(rule.when).forEach((f) => out.add(f));
  for (const approval of policy.approvals) if (approval.when) conditionFields(approval.when).forEach((f) => out.add(f));
  for (const system of policy.systems) {
    if (system.account.name !== null) fieldsOf(system.account.name).forEach((f) => out.add(f));
    for (const template of Object.values(system.account.attributes)) fieldsOf(template).forEach((f) => out.add(f));
    out.add(system.correlation.identity);
  }
  // An entitlement template (`dept-{department|slug}`) turns the fields it reads into access.
  for (const entitlement of policy.entitlements ?? []) if (entitlement.template) fieldsOf(entitlement.name).forEach((f) => out.add(f));
  out.delete('key');
  return out;
}
