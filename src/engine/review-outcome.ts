/**
 * Closing a campaign: what unanswered items become under the campaign's
 * no-response policy, the blast-radius preview of the removals, and the cap
 * that holds the result for a person to release (DESIGN.md safety rule 10) —
 * "remove if nobody answers" must never be able to revoke everyone.
 */
import type { RemovalCap, NoResponsePolicy } from '../domain/review.ts';
import type { ItemState, ReviewDecision } from './review-decisions.ts';

export interface ItemOutcome {
  readonly itemId: string;
  readonly outcome: ReviewDecision;
  /** `decision`: a reviewer decided; `no_response`: the policy did. */
  readonly by: 'decision' | 'no_response';
  readonly until: string | null;
}

export interface BlastRadius {
  readonly items: number;
  readonly removals: number;
  /** Removals nobody decided on (the no-response policy's). */
  readonly noResponseRemovals: number;
  readonly noResponsePrivileged: number;
  /** No-response removals by system, and by kind of item. */
  readonly bySystem: Readonly<Record<string, number>>;
  readonly byKind: { readonly privileged: number; readonly standard: number; readonly account: number };
  readonly percent: number;
}

export interface CampaignOutcome {
  readonly outcomes: readonly ItemOutcome[];
  readonly preview: BlastRadius;
  /** True: the no-response removals wait for a person to release them; decided items apply regardless. */
  readonly held: boolean;
  readonly heldBecause: readonly string[];
}

/**
 * Every item's outcome at close, with the preview and whether the cap holds the no-response part.
 * @example const { held, preview } = closeCampaign(states.values(), 'recommendation', { maxPercent: 10, holdPrivileged: true });
 */
export function closeCampaign(states: Iterable<ItemState>, noResponse: NoResponsePolicy, cap: RemovalCap): CampaignOutcome {
  const outcomes: ItemOutcome[] = [];
  const bySystem: Record<string, number> = {};
  const byKind = { privileged: 0, standard: 0, account: 0 };
  let items = 0;
  let removals = 0;
  let noResponseRemovals = 0;
  for (const state of states) {
    items += 1;
    if (state.outcome !== null) {
      const last = state.decisions.at(-1);
      outcomes.push({ itemId: state.item.id, outcome: state.outcome, by: 'decision', until: last?.until ?? null });
      if (state.outcome === 'remove') removals += 1;
      continue;
    }
    // An item a stage kept and passed on stays kept if the later stage does not answer under `keep`.
    const outcome: ReviewDecision = noResponse === 'keep' ? 'keep' : noResponse === 'remove' ? 'remove' : state.item.recommendation;
    outcomes.push({ itemId: state.item.id, outcome, by: 'no_response', until: null });
    if (outcome !== 'remove') continue;
    removals += 1;
    noResponseRemovals += 1;
    bySystem[state.item.system] = (bySystem[state.item.system] ?? 0) + 1;
    if (state.item.entitlement === null) byKind.account += 1;
    else if (state.item.privileged) byKind.privileged += 1;
    else byKind.standard += 1;
  }
  const percent = items === 0 ? 0 : (noResponseRemovals * 100) / items;
  const heldBecause: string[] = [];
  if (percent > cap.maxPercent) heldBecause.push(`no response would remove ${noResponseRemovals} of ${items} items (${percent.toFixed(1)} %), more than the cap of ${cap.maxPercent} %`);
  if (cap.holdPrivileged && byKind.privileged > 0) heldBecause.push(`no response would remove ${byKind.privileged} privileged grant(s) nobody decided on`);
  return {
    outcomes,
    preview: { items, removals, noResponseRemovals, noResponsePrivileged: byKind.privileged, bySystem, byKind, percent },
    held: heldBecause.length > 0,
    heldBecause,
  };
}
