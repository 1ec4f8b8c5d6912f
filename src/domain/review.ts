/**
 * Access reviews (certification campaigns) as policy defines them: who is in
 * scope, who reviews in which stage, how often, and what happens when nobody
 * answers. Parsed, validated values; the YAML form lives in src/policy/review-schema.ts.
 */
import type { IdentityKind } from './identity.ts';

/**
 * Who reviews an item in one stage. `self` (the person reviews their own access)
 * is only allowed as a first stage and is never the last word: a later stage decides.
 */
export type ReviewerRef =
  | { readonly type: 'manager' | 'system_owner' | 'entitlement_owner' | 'owner' | 'sponsor' | 'self' }
  | { readonly type: 'identities'; readonly keys: readonly string[] };

/** Which items a stage passes to the next: only those it kept, or all of them. */
export type StageAdvance = 'kept' | 'all';

export interface ReviewStageDef {
  readonly name: string;
  readonly reviewers: ReviewerRef;
  /** Identity keys who review when `reviewers` resolves to nobody (no manager, owner left, or the reviewer is the person). */
  readonly fallback: readonly string[];
  readonly advance: StageAdvance;
}

/**
 * What a campaign covers. Every filter given must hold for an item (they combine
 * with AND); an empty scope covers every identity's every entitlement.
 */
export interface ReviewScope {
  /** System names. */
  readonly systems: readonly string[];
  /** `system:entitlement` or `system:*`. */
  readonly entitlements: readonly string[];
  readonly privilegedOnly: boolean;
  /** Only access a role induces (directly or through other roles). */
  readonly role: string | null;
  readonly kinds: readonly IdentityKind[];
  /** Everyone this manager (identity key) has, directly. */
  readonly manager: string | null;
  /** Non-human identities (and contractors) whose owner or sponsor is this identity key. */
  readonly owner: string | null;
}

/** Recurrence: every N months from an anchor date, in the organisation's time zone. */
export interface ReviewRecurrence {
  readonly everyMonths: number;
  /** First start, YYYY-MM-DD in the organisation's time zone. */
  readonly from: string;
}

/** What an unanswered item becomes when the campaign closes. */
export type NoResponsePolicy = 'keep' | 'remove' | 'recommendation';

/**
 * The blast-radius cap on no-response removals. Exceeding it holds the whole
 * no-response result until a person releases it, like the mass-change guard.
 */
export interface RemovalCap {
  /** Hold when no-response would remove more than this share of the campaign's items (0–100). */
  readonly maxPercent: number;
  /** Hold when no-response would remove any privileged access nobody decided on. */
  readonly holdPrivileged: boolean;
}

export interface ReviewDef {
  readonly name: string;
  readonly description: string;
  readonly scope: ReviewScope;
  /** One to three stages, in order. */
  readonly stages: readonly ReviewStageDef[];
  readonly recurrence: ReviewRecurrence | null;
  readonly durationDays: number;
  /** Reminders: days before the due date (`1`), and/or at the midpoint. */
  readonly reminders: { readonly midpoint: boolean; readonly daysBefore: readonly number[] };
  /** Undecided items of a reviewer are escalated to the reviewer's manager this many days after the start; null = never. */
  readonly escalateAfterDays: number | null;
  readonly noResponse: NoResponsePolicy;
  readonly cap: RemovalCap;
  /** Recommend removal of access not used for this many days (unprivileged / privileged). */
  readonly unusedDays: { readonly standard: number; readonly privileged: number };
}

/** The defaults the issue names: unused for 90 days (30 when privileged) is a candidate for removal. */
export const DEFAULT_UNUSED_DAYS = { standard: 90, privileged: 30 } as const;
export const MAX_REVIEW_STAGES = 3;
