/**
 * Who reviews an item in a stage, resolved from identity data and policy.
 * Independence is enforced here: nobody reviews their own access (except in a
 * `self` stage, which is never the last), reviewers who have left do not
 * count, and a reviewer holding the same privileged access is flagged.
 */
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import type { ReviewStageDef } from '../domain/review.ts';
import { entitlementDefFor } from './compiled-policy.ts';

export interface ReviewerContext {
  readonly policy: Pick<Policy, 'systems' | 'entitlements'>;
  readonly identities: ReadonlyMap<string, Identity>;
  /** Whether identity `key` holds `system:entitlement` (for the conflict flag). */
  readonly holds: (key: string, system: string, entitlement: string) => boolean;
}

export interface ReviewSubject {
  readonly identity: Identity;
  readonly system: string;
  readonly entitlement: string | null;
  readonly privileged: boolean;
}

/**
 * The reviewers of `subject` in `stage`, sorted, and those among them who hold
 * the same privileged access. Falls back to the stage's fallback reviewers when
 * the stage's own resolve to nobody; an empty list means nobody could be found.
 */
export function resolveReviewers(stage: ReviewStageDef, subject: ReviewSubject, context: ReviewerContext): { reviewers: string[]; conflicted: string[] } {
  const { identity } = subject;
  const candidates = stageCandidates(stage, subject, context);
  const usable = (keys: readonly string[]) =>
    [...new Set(keys)].filter((key) => {
      if (key === identity.key) return stage.reviewers.type === 'self';
      const reviewer = context.identities.get(key);
      return reviewer !== undefined && reviewer.status === 'active';
    });
  let reviewers = usable(candidates);
  if (reviewers.length === 0) reviewers = usable(stage.fallback.filter((k) => k !== identity.key));
  reviewers.sort();
  const conflicted = subject.privileged && subject.entitlement !== null
    ? reviewers.filter((key) => key !== identity.key && context.holds(key, subject.system, subject.entitlement!))
    : [];
  return { reviewers, conflicted };
}

function stageCandidates(stage: ReviewStageDef, subject: ReviewSubject, context: ReviewerContext): string[] {
  const { identity } = subject;
  const ref = stage.reviewers;
  const systemOwner = () => context.policy.systems.find((s) => s.name === subject.system)?.owner ?? null;
  const one = (key: string | null | undefined) => (key ? [key] : []);
  switch (ref.type) {
    case 'identities': return [...ref.keys];
    case 'self': return [identity.key];
    case 'manager': return one(identity.attributes.manager);
    case 'owner': return one(identity.owner ?? identity.sponsor);
    case 'sponsor': return one(identity.sponsor ?? identity.owner);
    case 'system_owner': return one(systemOwner());
    case 'entitlement_owner': {
      const def = subject.entitlement === null ? undefined : entitlementDefFor(context.policy.entitlements, subject.system, subject.entitlement);
      return one(def?.owner ?? systemOwner());
    }
  }
}
