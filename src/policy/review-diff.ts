/**
 * What `jml policy diff` says about review definitions: which are added,
 * removed, or changed, and in which fields.
 */
import { canonicalJson } from '../domain/canonical-json.ts';
import type { Policy } from '../domain/policy.ts';
import type { ReviewDef } from '../domain/review.ts';

export interface ReviewDefinitionChange {
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
  /** For `changed`: the top-level fields that differ (`stages`, `noResponse`, …). */
  readonly fields: readonly string[];
}

/**
 * Review definitions that differ between two policies, sorted by name.
 * @example reviewDefinitionsDiff(current, proposed) // [{ name: 'quarterly', change: 'changed', fields: ['durationDays'] }]
 */
export function reviewDefinitionsDiff(current: Pick<Policy, 'reviews'>, proposed: Pick<Policy, 'reviews'>): ReviewDefinitionChange[] {
  const before = new Map((current.reviews ?? []).map((r) => [r.name, r]));
  const after = new Map((proposed.reviews ?? []).map((r) => [r.name, r]));
  const out: ReviewDefinitionChange[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(name);
    const b = after.get(name);
    if (!a) out.push({ name, change: 'added', fields: [] });
    else if (!b) out.push({ name, change: 'removed', fields: [] });
    else {
      const fields = (Object.keys(b) as (keyof ReviewDef)[]).filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
      if (fields.length > 0) out.push({ name, change: 'changed', fields });
    }
  }
  return out;
}
