/**
 * What identities should hold (assignments) and what systems do hold (accounts,
 * grants). midPoint's distinction: an assignment is what should be, an account
 * is what is.
 */

/**
 * How much of a system jml owns (midPoint's enforcement modes), as the engine
 * implements them:
 * - none: jml plans no change in the system; it only reports (findings).
 * - positive: jml adds what is desired and never removes a grant or deletes an
 *   account; it still disables the accounts of leavers and suspended identities.
 * - relative: jml also removes grants, and disables or deletes accounts, that
 *   jml itself assigned or created and that are no longer desired; access
 *   granted by others is left alone.
 * - full: anything not justified by a rule, an approved request or an exception
 *   is removed.
 */
export const ENFORCEMENT_MODES = ['none', 'positive', 'relative', 'full'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];

export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** Reference to something grantable: a group, role, licence or profile in one system. */
export interface EntitlementRef {
  readonly system: string;
  readonly entitlement: string;
}

export function entitlementId(ref: EntitlementRef): string {
  return `${ref.system}:${ref.entitlement}`;
}

/** The entitlement template a rule's grant came from, and the identity's values that named the group. */
export interface TemplateSource {
  /** The template as written in policy: `dept-{department|slug}`. */
  readonly template: string;
  /** Each field the template reads, with the identity's value (before filters). */
  readonly values: Readonly<Record<string, string>>;
}

/** Why an identity should hold an entitlement. */
export type AssignmentReason =
  | { readonly type: 'rule'; readonly rule: string; readonly roleChain: readonly string[]; readonly template?: TemplateSource }
  | { readonly type: 'request'; readonly requestId: string; readonly roleChain: readonly string[] }
  | { readonly type: 'exception'; readonly exceptionId: string; readonly justification: string };

/** An identity should hold an entitlement, for a reason, within a validity window (ISO instants, null = open). */
export interface Assignment {
  readonly identityKey: string;
  readonly system: string;
  readonly entitlement: string;
  readonly reason: AssignmentReason;
  readonly validFrom: string | null;
  readonly validTo: string | null;
}

/** An identity's presence in a system, as its connector reads it. */
export interface Account {
  readonly system: string;
  /** The system's own stable identifier (DN, SCIM id, …). */
  readonly accountId: string;
  /** Login name as the system shows it. */
  readonly name: string;
  readonly enabled: boolean;
  readonly attributes: Readonly<Record<string, string | readonly string[] | null>>;
  /** Last sign-in the system reports, ISO instant, when it reports one. */
  readonly lastLoginAt?: string | null;
}

/** An entitlement an account actually holds. */
export interface Grant {
  readonly system: string;
  readonly accountId: string;
  readonly entitlement: string;
}

/** How an observed account relates to identities (midPoint's situations). */
export const SITUATIONS = ['linked', 'unlinked', 'unmatched', 'disputed', 'deleted'] as const;
export type Situation = (typeof SITUATIONS)[number];
