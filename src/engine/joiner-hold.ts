/**
 * The joiner approval gate: a joiner whose activation waits for approval gets
 * none of the changes that would give them access. Changes that take access
 * away (disable, remove a grant, revoke) are never held: holding them would
 * leave access in place that nobody approved either.
 */
import type { Change, ChangeKind } from '../domain/change.ts';

/** Kinds that would give a joiner access before their activation was approved. */
const ACTIVATING: ReadonlySet<ChangeKind> = new Set(['create_account', 'enable_account', 'add_grant', 'update_attributes']);

/**
 * Splits one identity's changes into those the plan keeps and those it holds:
 * every activating change, and whatever depends on a held change.
 * @example
 * const { kept, held } = holdActivation(changes); // held: create_account and its add_grants
 */
export function holdActivation(changes: readonly Change[]): { readonly kept: Change[]; readonly held: Change[] } {
  const held = new Set(changes.filter((c) => ACTIVATING.has(c.kind)).map((c) => c.id));
  if (held.size === 0) return { kept: [...changes], held: [] };
  let grew = true;
  while (grew) {
    grew = false;
    for (const c of changes) {
      if (!held.has(c.id) && c.dependsOn.some((d) => held.has(d))) {
        held.add(c.id);
        grew = true;
      }
    }
  }
  return { kept: changes.filter((c) => !held.has(c.id)), held: changes.filter((c) => held.has(c.id)) };
}
