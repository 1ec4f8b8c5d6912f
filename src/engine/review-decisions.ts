/**
 * Decisions on review items, as a pure step from the items' state and one
 * reviewer's decision to the new state (or the reasons it is refused):
 * keep, remove, or reduce to time-bound access until a date; comments required
 * to keep privileged access; bulk decisions only with a confirmation; stages
 * advance by the stage's `advance` rule; delegation moves items between reviewers.
 */
import type { Identity } from '../domain/identity.ts';
import type { ReviewDef } from '../domain/review.ts';
import type { ReviewItem } from './review-campaign.ts';
import { resolveReviewers, type ReviewerContext } from './review-reviewers.ts';

export const REVIEW_DECISIONS = ['keep', 'remove', 'reduce'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export interface DecisionRecord {
  readonly itemId: string;
  /** 0-based stage the decision was made in. */
  readonly stage: number;
  readonly reviewer: string;
  readonly decision: ReviewDecision;
  /** For `reduce`: the last day (YYYY-MM-DD, organisation's zone) the access stays. */
  readonly until: string | null;
  readonly comment: string;
  readonly at: string;
}

/** Where an item stands: its stage, who may decide now, what was decided, and the outcome once final. */
export interface ItemState {
  readonly item: ReviewItem;
  readonly stage: number;
  readonly reviewers: readonly string[];
  readonly decisions: readonly DecisionRecord[];
  /** null while a stage is still to decide. */
  readonly outcome: ReviewDecision | null;
}

export interface DecisionInput {
  readonly reviewer: string;
  readonly itemIds: readonly string[];
  readonly decision: ReviewDecision;
  readonly comment?: string;
  readonly until?: string;
  /** Required when more than one item is decided at once. */
  readonly confirmed?: boolean;
  /** ISO instant; `today` is its date in the organisation's zone. */
  readonly at: string;
  readonly today: string;
}

export interface Refusal {
  readonly itemId: string | null;
  readonly reason: string;
}

export type DecisionResult =
  /** `states`: the items this decision changed (callers merge them into what they hold). */
  | { readonly ok: true; readonly states: ReadonlyMap<string, ItemState>; readonly recorded: readonly DecisionRecord[] }
  | { readonly ok: false; readonly refusals: readonly Refusal[]; readonly needsConfirmation?: { readonly items: number; readonly decision: ReviewDecision } };

/** The first-stage state of each item, keyed by item id. */
export function initialStates(items: readonly ReviewItem[]): Map<string, ItemState> {
  return new Map(items.map((item) => [item.id, { item, stage: 0, reviewers: item.reviewers, decisions: [], outcome: null }]));
}

/**
 * Applies one reviewer's decision to `itemIds`, all or nothing: any refusal
 * (not theirs to decide, already final, own access, missing comment or date,
 * an unconfirmed bulk decision) leaves every item as it was.
 * @example decide(review, states, { reviewer: 'M1', itemIds: ['ritem_x'], decision: 'keep', at, today }, context)
 */
export function decide(review: ReviewDef, states: ReadonlyMap<string, ItemState>, input: DecisionInput, context: ReviewerContext): DecisionResult {
  const refusals: Refusal[] = [];
  const comment = input.comment?.trim() ?? '';
  if (input.itemIds.length === 0) return { ok: false, refusals: [{ itemId: null, reason: 'no items given' }] };
  if (input.decision === 'reduce' && !(input.until && /^\d{4}-\d{2}-\d{2}$/.test(input.until) && input.until >= input.today)) {
    refusals.push({ itemId: null, reason: `reduce needs an until date (YYYY-MM-DD) on or after ${input.today}` });
  }
  for (const id of new Set(input.itemIds)) {
    const state = states.get(id);
    if (!state) refusals.push({ itemId: id, reason: 'no such item in this campaign' });
    else if (state.outcome !== null) refusals.push({ itemId: id, reason: `already decided: ${state.outcome}` });
    else if (!state.reviewers.includes(input.reviewer)) refusals.push({ itemId: id, reason: `${input.reviewer} is not a reviewer of this item in stage ${state.stage + 1}` });
    else if (input.reviewer === state.item.identityKey && review.stages[state.stage]?.reviewers.type !== 'self') refusals.push({ itemId: id, reason: 'nobody reviews their own access' });
    else if (input.decision !== 'remove' && state.item.privileged && comment === '') refusals.push({ itemId: id, reason: 'keeping privileged access needs a comment' });
  }
  if (refusals.length > 0) return { ok: false, refusals };
  if (input.itemIds.length > 1 && input.confirmed !== true) {
    return { ok: false, refusals: [{ itemId: null, reason: `confirm the bulk decision: ${input.decision} on ${input.itemIds.length} items` }], needsConfirmation: { items: input.itemIds.length, decision: input.decision } };
  }
  // Only the changed items: copying every item of a 2-million-item campaign per decision would dominate.
  const next = new Map<string, ItemState>();
  const recorded: DecisionRecord[] = [];
  for (const id of new Set(input.itemIds)) {
    const state = states.get(id)!;
    const record: DecisionRecord = { itemId: id, stage: state.stage, reviewer: input.reviewer, decision: input.decision, until: input.decision === 'reduce' ? input.until! : null, comment, at: input.at };
    recorded.push(record);
    next.set(id, advance(review, { ...state, decisions: [...state.decisions, record] }, record, context));
  }
  return { ok: true, states: next, recorded };
}

/**
 * After a decision: a later stage takes the item when the stage passes it on
 * (`kept` passes on what was kept or reduced, `all` everything; a `self` stage
 * always does, it never has the last word); otherwise the decision is final.
 */
function advance(review: ReviewDef, state: ItemState, record: DecisionRecord, context: ReviewerContext): ItemState {
  const stage = review.stages[state.stage]!;
  const nextStage = review.stages[state.stage + 1];
  const passes = stage.reviewers.type === 'self' || stage.advance === 'all' || record.decision !== 'remove';
  if (!nextStage || !passes) return { ...state, outcome: record.decision };
  const identity = context.identities.get(state.item.identityKey) ?? unknownIdentity(state.item.identityKey);
  const { reviewers } = resolveReviewers(nextStage, { identity, system: state.item.system, entitlement: state.item.entitlement, privileged: state.item.privileged }, context);
  return { ...state, stage: state.stage + 1, reviewers };
}

export interface Delegation {
  readonly from: string;
  readonly to: string;
  readonly itemIds: readonly string[];
  readonly at: string;
}

/**
 * Hands `from`'s open items to `to` (the caller audits it). Refused for items
 * that are not `from`'s to decide, and for the person whose access it is.
 */
export function delegate(states: ReadonlyMap<string, ItemState>, delegation: Delegation): { ok: true; states: ReadonlyMap<string, ItemState> } | { ok: false; refusals: readonly Refusal[] } {
  const refusals: Refusal[] = [];
  if (delegation.from === delegation.to) refusals.push({ itemId: null, reason: 'delegate to someone else' });
  for (const id of delegation.itemIds) {
    const state = states.get(id);
    if (!state || state.outcome !== null || !state.reviewers.includes(delegation.from)) refusals.push({ itemId: id, reason: `not an open item of ${delegation.from}` });
    else if (state.item.identityKey === delegation.to) refusals.push({ itemId: id, reason: 'nobody reviews their own access' });
  }
  if (refusals.length > 0) return { ok: false, refusals };
  const next = new Map(states);
  for (const id of delegation.itemIds) {
    const state = states.get(id)!;
    next.set(id, { ...state, reviewers: [...new Set(state.reviewers.map((r) => (r === delegation.from ? delegation.to : r)))].sort() });
  }
  return { ok: true, states: next };
}

function unknownIdentity(key: string): Identity {
  return { key, kind: 'employee', status: 'left', source: '', attributes: {}, startDate: null, endDate: null, owner: null, sponsor: null };
}
