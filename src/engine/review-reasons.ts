/**
 * Reasons of review items in words, and the sharing that keeps a campaign of
 * millions of items small: most items carry one of a few reason chains.
 */
import type { AssignmentReason } from '../domain/access.ts';

/** The recommendation's reason for access kept because `words` justify it. */
export function justifiedBy(words: string): string {
  return `justified by ${words}`;
}

/** A reason in the words a reviewer reads: `rule r via role > role`, `request R1`, `exception X1`. */
export function reasonWord(reason: AssignmentReason): string {
  if (reason.type === 'rule') return `rule ${reason.rule}${reason.roleChain.length > 0 ? ` via ${reason.roleChain.join(' > ')}` : ''}`;
  if (reason.type === 'request') return `request ${reason.requestId}`;
  return `exception ${reason.exceptionId}`;
}

export const NO_REASONS: readonly AssignmentReason[] = [];

/** A reason chain in words: as the recommendation shows it, and as the snapshot hash has always read it. */
export interface ReasonWords { readonly shown: string; readonly hashed: string }

/**
 * Most of a campaign's millions of items share a few reason chains: a rule's
 * reason is one object in the compiled policy, but the desired index wraps it
 * in a new array per identity. One array per distinct sequence of reason
 * objects (and one string of words per array, one keep recommendation per
 * justification) saves most of the allocation and garbage collection of a
 * large start. Arrays are compared by their reasons' identity, never by words:
 * two template grants word alike but carry different values.
 */
export class ReasonsInterner {
  readonly #arrays = new Map<AssignmentReason, (readonly AssignmentReason[])[]>();
  readonly #words = new WeakMap<readonly AssignmentReason[], ReasonWords>();
  readonly #wordOf = new WeakMap<AssignmentReason, string>();
  readonly #keep = new Map<string, { readonly recommendation: 'keep'; readonly why: string }>();

  /** The one array holding the same reason objects in the same order as `reasons`. */
  intern(reasons: readonly AssignmentReason[]): readonly AssignmentReason[] {
    if (reasons.length === 0) return NO_REASONS;
    const candidates = this.#arrays.get(reasons[0]!);
    if (!candidates) {
      this.#arrays.set(reasons[0]!, [reasons]);
      return reasons;
    }
    for (const known of candidates) if (sameReasons(known, reasons)) return known;
    candidates.push(reasons);
    return reasons;
  }

  /** `reasons` in words, computed once per interned array. */
  words(reasons: readonly AssignmentReason[]): ReasonWords {
    let words = this.#words.get(reasons);
    if (words === undefined) {
      const each = reasons.map((r) => this.#word(r));
      this.#words.set(reasons, (words = { shown: each.join(', '), hashed: each.join(',') }));
    }
    return words;
  }

  /** The keep recommendation for `words`, one object per distinct justification. */
  keep(words: string): { readonly recommendation: 'keep'; readonly why: string } {
    let answer = this.#keep.get(words);
    if (!answer) this.#keep.set(words, (answer = { recommendation: 'keep' as const, why: justifiedBy(words) }));
    return answer;
  }

  #word(reason: AssignmentReason): string {
    let word = this.#wordOf.get(reason);
    if (word === undefined) this.#wordOf.set(reason, (word = reasonWord(reason)));
    return word;
  }
}

function sameReasons(a: readonly AssignmentReason[], b: readonly AssignmentReason[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
