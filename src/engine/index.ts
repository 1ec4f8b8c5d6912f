/**
 * The pure engine: desired access, plans, explanations and policy diffs.
 * No I/O and no clock: `now` is always a parameter.
 */
export { desired, describeReason, unresolvedTemplates } from './desired.ts';
export type { DesiredAccess, DesiredEntitlement, EngineOptions, UnresolvedTemplate } from './desired.ts';
export { plan } from './plan.ts';
export type { PlanInput, JmlAssigned } from './plan.ts';
export type { ObservedSystem, AccountLink } from './observed-index.ts';
export type { HeldAsset } from './identity-changes.ts';
export { explain, policyDiff } from './explain.ts';
export { newTemplateGroups } from './group-changes.ts';
export type { NewTemplateGroup } from './group-changes.ts';
export type { Explanation, ExplainedEntitlement, PolicyDiffEntry } from './explain.ts';
export { compileCondition, calendarDate } from './condition.ts';
export { canonicalHash, canonicalText, stableId } from './canonical-hash.ts';
