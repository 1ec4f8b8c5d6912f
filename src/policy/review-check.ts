/**
 * Cross-reference checks for `reviews:` once each file passed its schema:
 * duplicate names, and scopes naming systems, entitlements or roles the policy
 * does not define.
 */
import type { ReviewDef } from '../domain/review.ts';
import type { Entry, PolicyEntries, ProblemAt } from './policy-check.ts';

/** Every problem in the review definitions, given the rest of the policy. */
export function checkReviews(reviews: readonly Entry<ReviewDef>[], entries: PolicyEntries): ProblemAt[] {
  const problems: ProblemAt[] = [];
  const systems = new Set(entries.systems.map((e) => e.value.name));
  const entitlements = new Set(entries.entitlements.map((e) => `${e.value.system}:${e.value.name}`));
  const roles = new Set(entries.roles.map((e) => e.value.name));
  const seen = new Map<string, string>();
  for (const entry of reviews) {
    const at = (path: (string | number)[], message: string) => problems.push({ file: entry.file, path: ['reviews', entry.index, ...path], message });
    const review = entry.value;
    const first = seen.get(review.name);
    if (first !== undefined) at(['name'], `duplicate review "${review.name}" (first defined in ${first})`);
    else seen.set(review.name, entry.file);
    review.scope.systems.forEach((s, i) => {
      if (!systems.has(s)) at(['scope', 'systems', i], `unknown system "${s}"`);
    });
    review.scope.entitlements.forEach((ref, i) => {
      const system = ref.slice(0, ref.indexOf(':'));
      if (ref.endsWith(':*') ? !systems.has(system) : !entitlements.has(ref)) at(['scope', 'entitlements', i], `unknown entitlement "${ref}"`);
    });
    if (review.scope.role !== null && !roles.has(review.scope.role)) at(['scope', 'role'], `unknown role "${review.scope.role}"`);
  }
  return problems;
}
