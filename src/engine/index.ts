/**
 * The pure engine: desired access, plans, explanations and policy diffs.
 * No I/O and no clock: `now` is always a parameter.
 */
export { desired, describeReason, unresolvedTemplates } from './desired.ts';
export type { DesiredAccess, DesiredEntitlement, EngineOptions, UnresolvedTemplate } from './desired.ts';
export { plan } from './plan.ts';
export type { PlanInput, JmlAssigned } from './plan.ts';
export type { ObservedSystem, AccountLink } from './observed-index.ts';
export { forEachGrant, forEachLink, listedGrants, plannedAccountFields } from './observed-index.ts';
export type { HeldAsset } from './identity-changes.ts';
export { isOrphanKey, orphanKey } from './orphan-changes.ts';
export type { OrphanFinding } from './orphan-changes.ts';
export { accessDiff, explain, policyDiff } from './explain.ts';
export { ALWAYS_POLICY_FIELDS, policyFields } from './policy-fields.ts';
export { newTemplateGroups } from './group-changes.ts';
export type { NewTemplateGroup } from './group-changes.ts';
export type { Explanation, ExplainedEntitlement, PolicyDiffEntry } from './explain.ts';
export { compileCondition } from './condition.ts';
export { addDays, dateIn, endOfLastDay, lastInstantOf, startOfDay } from './org-calendar.ts';
export { canonicalHash, stableId } from './canonical-hash.ts';
export { describeSodViolation, newSodViolations, sodRule, sodViolationKey, sodViolations } from './sod.ts';
export type { SodViolation } from './sod.ts';
export { sodPolicyDiff } from './sod-diff.ts';
export type { SodPolicyDiff } from './sod-diff.ts';
