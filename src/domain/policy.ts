/**
 * Policy: the systems jml manages, what is grantable in them, the roles that
 * bundle it and the rules that hand it out (birthright access). These are the
 * parsed, validated values; the YAML form and its schema live in src/policy/.
 */
import type { Criticality, EnforcementMode } from './access.ts';
import type { CredentialKind, IdentityKind } from './identity.ts';
import type { ReviewDef } from './review.ts';

/** What happens to a leaver's account in a system. Accounts are always disabled first. */
export interface LeaverBehaviour {
  /** `disable`: disable and keep. `delete`: disable now, delete once the retention period has passed. */
  readonly action: 'disable' | 'delete';
  /** Days after the identity's end date before a disabled account may be deleted. */
  readonly deleteAfterDays: number;
}

/**
 * What jml does about an orphan (an account no identity matches). Only under
 * `full` enforcement: an orphan still enabled this many days after it was first
 * found is disabled. Never deleted: a person decides that.
 */
export interface OrphanBehaviour {
  readonly disableAfterDays: number;
}

/** How an observed account is matched to an identity: on an immutable key, never on a name. */
export interface Correlation {
  /** Account attribute holding the value; `name` and `accountId` name the account's own fields. */
  readonly account: string;
  /** Identity field it must equal: `key` or an attribute name (e.g. `email`). */
  readonly identity: string;
}

/**
 * How the attributes of an account jml creates are derived from the identity.
 * Values are templates: `{first_name}.{last_name}`, with filters `{first_name|lower|ascii}`.
 */
export interface AccountTemplate {
  /** Login name; null means the default (`first.last` in lower-case ASCII, else the identity key). */
  readonly name: string | null;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface SystemDef {
  readonly name: string;
  readonly connector: { readonly type: string; readonly settings: Readonly<Record<string, unknown>> };
  /** Identity key of the human accountable for the system (receives its manual tasks). */
  readonly owner: string;
  readonly criticality: Criticality;
  readonly enforcement: EnforcementMode;
  readonly leaver: LeaverBehaviour;
  readonly orphans: OrphanBehaviour;
  readonly correlation: Correlation;
  readonly account: AccountTemplate;
  /**
   * The system people sign in through (directory, SSO). Disabling its account is the
   * first leaver step ("identity disabled"), and its sessions are revoked next.
   */
  readonly identityProvider: boolean;
  /** Whether jml revokes sessions in this system when it disables an account there. */
  readonly sessions: boolean;
  /** What happens to an account's password when jml disables or (re-)enables it. */
  readonly credentials: CredentialPolicy;
}

/**
 * Passwords on disable and enable. The safe choice is the default for systems that hold
 * passwords (ldap, ad): a disabled account's password is scrambled, and an account jml
 * creates or enables gets a new one that reaches the person through a task, so a rehire
 * never gets back a secret they knew.
 */
export interface CredentialPolicy {
  readonly onDisable: 'scramble' | 'keep';
  readonly onEnable: 'new_secret' | 'keep';
  /** Days a credential in this system may go without being set or rotated; absent: the default (90). */
  readonly maxAgeDays?: number;
  /** The same per credential kind, before `maxAgeDays`. */
  readonly maxAgeDaysByKind?: Readonly<Partial<Record<CredentialKind, number>>>;
}

/** A credential's maximum age when neither policy nor the schedule settings say otherwise. */
export const DEFAULT_CREDENTIAL_MAX_AGE_DAYS = 90;

/**
 * Days a credential of `kind` in `system` may go without being set or
 * rotated: the system's figure for that kind, else the system's own, else `fallback`.
 * @example credentialMaxAgeDays(policy.systems, 'erp', 'api_key', 90)
 */
export function credentialMaxAgeDays(systems: readonly Pick<SystemDef, 'name' | 'credentials'>[], system: string, kind: CredentialKind, fallback: number): number {
  const policy = systems.find((s) => s.name === system)?.credentials;
  return policy?.maxAgeDaysByKind?.[kind] ?? policy?.maxAgeDays ?? fallback;
}

export interface EntitlementDef {
  readonly system: string;
  readonly name: string;
  readonly displayName: string;
  readonly privileged: boolean;
  /** Longest a request or exception may grant it for; null = no limit. Birthright access is not capped. */
  readonly maxDurationDays: number | null;
  /** Identity key of the entitlement's owner, who reviews it in `entitlement_owner` stages; absent: the system owner. */
  readonly owner?: string;
  /**
   * Present when `name` is an entitlement template (`dept-{department|slug}`): each
   * identity is desired to hold the group its attributes name. Absent on plain entitlements.
   */
  readonly template?: EntitlementTemplate;
}

/** How jml treats the groups an entitlement template names. */
export interface EntitlementTemplate {
  /** jml creates a named group that does not exist yet (a `create_group` change before the grants that need it). */
  readonly createMissing: boolean;
  /** jml deletes a group it created from this template once nobody holds or is desired to hold it. */
  readonly removeEmpty: boolean;
  /** Template of the description a created group gets (`Department {department}`); null: the display name's. */
  readonly description: string | null;
}

export type Inducement =
  | { readonly type: 'entitlement'; readonly system: string; readonly entitlement: string }
  | { readonly type: 'role'; readonly role: string };

export interface RoleDef {
  readonly name: string;
  readonly description: string;
  readonly inducements: readonly Inducement[];
}

/** A date operand: a calendar date `YYYY-MM-DD`, or `today` (the organisation's date at `now`). */
export type DateOperand = string;

/**
 * The condition language of rules. Declarative and closed: no expressions, no eval.
 * Attribute names are identity fields: `key`, `kind`, `status`, `source`,
 * `start_date`, `end_date`, `owner`, `sponsor`, or any attribute (`department`, …).
 * A map with several attributes means all of them must hold.
 */
export type Condition =
  | { readonly equals: Readonly<Record<string, string>> }
  | { readonly in: Readonly<Record<string, readonly string[]>> }
  | { readonly kind: readonly IdentityKind[] }
  | { readonly exists: string }
  | { readonly matches: Readonly<Record<string, string>> }
  | { readonly before: Readonly<Record<string, DateOperand>> }
  | { readonly after: Readonly<Record<string, DateOperand>> }
  /** The date attribute falls between today and today + N days (inclusive). */
  | { readonly within_days: Readonly<Record<string, number>> }
  | { readonly not: Condition }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] };

export interface RuleDef {
  readonly name: string;
  readonly description: string;
  readonly when: Condition;
  readonly grant: {
    readonly roles: readonly string[];
    readonly entitlements: readonly { readonly system: string; readonly entitlement: string }[];
  };
}

/**
 * Who decides one approval stage, resolved from identity data when a request
 * is made: the beneficiary's manager, sponsor or owner, the system's owner,
 * or named identities (any one of them decides).
 */
export type ApproverRef =
  | { readonly type: 'manager' | 'sponsor' | 'owner' | 'system_owner' }
  | { readonly type: 'identities'; readonly keys: readonly string[] };

export interface ApprovalStageDef {
  readonly name: string;
  readonly approver: ApproverRef;
  /** An undecided stage escalates after this long: to `escalateTo`, else to the approvers' managers. */
  readonly timeoutHours: number;
  readonly escalateTo: ApproverRef | null;
}

/**
 * Which requests need approval, and by whom in order. `entitlement` policies
 * match requested entitlements (`system:name`, `system:*` or `*`, optionally
 * only privileged ones); `joiner` policies hold matching joiners' activation
 * until approved; `edit` policies hold edits made in jml that would give the
 * identity access. The first matching policy in file order decides.
 */
export interface ApprovalPolicy {
  readonly name: string;
  /** `edit`: edits made in jml that would give the identity access wait for these stages. */
  readonly appliesTo: 'entitlement' | 'joiner' | 'edit';
  readonly entitlements: readonly string[];
  /** true: only privileged entitlements; false: only unprivileged; null: either. */
  readonly privileged: boolean | null;
  /** For joiners: which identities need approval. For entitlements: an optional filter on the beneficiary. */
  readonly when: Condition | null;
  readonly stages: readonly ApprovalStageDef[];
  /**
   * Four-eyes for sensitive access: nobody in the requester's management chain
   * (the requester, their manager, that manager's manager, …) approves any stage.
   */
  readonly approverOutsideChain?: boolean;
}

/** One item of a kit: a category of equipment, optionally a model (or a class used as model name, `developer-16gb`). */
export interface KitItem {
  readonly kind: string;
  readonly model: string | null;
}

/**
 * A user type: who it is for (`when`), the equipment they get and their
 * birthright roles. An identity has the first profile (in file order) whose
 * condition it meets, or none.
 */
export interface ProfileDef {
  readonly name: string;
  readonly description: string;
  readonly when: Condition;
  readonly kit: readonly KitItem[];
  readonly roles: readonly string[];
}

export interface Policy {
  readonly systems: readonly SystemDef[];
  readonly entitlements: readonly EntitlementDef[];
  readonly roles: readonly RoleDef[];
  readonly rules: readonly RuleDef[];
  readonly approvals: readonly ApprovalPolicy[];
  /** Absent in policies without profiles. */
  readonly profiles?: readonly ProfileDef[];
  /** Access review definitions (`reviews:`); absent in policies written before reviews existed. */
  readonly reviews?: readonly ReviewDef[];
  /** Separation-of-duties rules; absent when the policy has none (so older policies keep their hash). */
  readonly sod?: readonly SodRule[];
}

/** Severity of an SoD rule and of the findings it raises. */
export type SodSeverity = 'low' | 'medium' | 'high' | 'critical';

/**
 * One side of an SoD conflict: an identity is on this side when it holds any of
 * the entitlements, any entitlement matching a pattern (`system:glob`, `*` any
 * characters), or every entitlement one of the roles induces.
 */
export interface SodSide {
  readonly entitlements: readonly { readonly system: string; readonly entitlement: string }[];
  readonly roles: readonly string[];
  /** `erp:approve-*`: the system, then a glob over entitlement names. */
  readonly patterns: readonly { readonly system: string; readonly pattern: string }[];
}

/**
 * Access no single identity should combine: holding something from each side is
 * a violation. Symmetric: the order the two sides are written in changes nothing.
 * A violation may only stand as a mitigation (an exception approved by `owner`
 * naming one of `mitigations` as its compensating control, with an end date).
 */
export interface SodRule {
  readonly name: string;
  readonly description: string;
  readonly sides: readonly [SodSide, SodSide];
  readonly severity: SodSeverity;
  /** Identity key of the person who owns the rule and decides its mitigations. */
  readonly owner: string;
  /** Compensating controls a mitigation may name; empty: the conflict cannot be mitigated, only refused. */
  readonly mitigations: readonly string[];
  /** Longest a mitigation may run. */
  readonly maxMitigationDays: number;
}

/** Regular expressions in `matches` are capped so a policy cannot make matching expensive. */
export const MAX_PATTERN_LENGTH = 200;
