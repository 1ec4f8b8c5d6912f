/**
 * Review campaigns over the store: start one from the planner's snapshot,
 * record decisions (each with its audit entry), close it under its no-response
 * policy — held by the blast-radius cap until a person releases it — and turn
 * removals into ended assignments the normal plan removes, confirmed later
 * against the latest reconcile.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import type { Policy } from '../../domain/policy.ts';
import type { ReviewDef } from '../../domain/review.ts';
import { dateIn, endOfLastDay } from '../../engine/org-calendar.ts';
import { forEachGrant, forEachLink } from '../../engine/observed-index.ts';
import { startCampaign, type ReviewItem } from '../../engine/review-campaign.ts';
import { decide, delegate, type DecisionInput, type ItemState, type ReviewDecision } from '../../engine/review-decisions.ts';
import { closeCampaign, type CampaignOutcome } from '../../engine/review-outcome.ts';
import type { ReviewerContext } from '../../engine/review-reviewers.ts';
import { campaignSchedule } from '../../engine/review-schedule.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { bulkInsert } from '../../store/bulk-write.ts';
import type { Database } from '../../store/database.ts';
import { orderedId } from '../../store/ordered-id.ts';
import type { Planner } from '../compute-plan.ts';
import { loadObserved } from '../observed-snapshot.ts';
import { loadProvenance, loadItemStates, saveItemStates, storedContext, type CampaignRow, getCampaign } from './review-queries.ts';

type Db = Kysely<Database>;

export interface ReviewDeps {
  readonly db: Db;
  readonly planner: Pick<Planner, 'loadInput'>;
  readonly timeZone: string;
}

/**
 * Starts a campaign of the review named `reviewName` at `now`; returns its id and item count.
 * With `period` (the recurrence date the scheduler starts it for), its dates run from that
 * day and a second campaign for the same review and period is refused.
 * @throws JmlError('not_found') when policy defines no such review; JmlError('conflict') when the period already has its campaign.
 */
export async function startReviewCampaign(deps: ReviewDeps, reviewName: string, actor: string, now: Date, options: { readonly period?: string } = {}): Promise<{ id: string; items: number; unassigned: number; snapshotHash: string }> {
  const { input } = await deps.planner.loadInput();
  const review = input.policy.reviews?.find((r) => r.name === reviewName);
  if (!review) throw new JmlError('not_found', `no review named "${reviewName}" in policy (reviews: ${(input.policy.reviews ?? []).map((r) => r.name).join(', ') || 'none'})`);
  const id = `rc_${orderedId(now.getTime())}`;
  const start = startCampaign(id, { review, policy: input.policy, identities: input.identities, assignments: input.assignments, observed: input.observed, links: input.links ?? [], provenance: await loadProvenance(deps.db), now: now.toISOString(), timeZone: deps.timeZone });
  const schedule = campaignSchedule(review, options.period ?? dateIn(now, deps.timeZone), deps.timeZone);
  await deps.db.transaction().execute(async (trx) => {
    const inserted = await trx.insertInto('review_campaigns')
      .values({ id, review: review.name, definition: JSON.stringify(review), state: 'open', snapshot_hash: start.snapshotHash, started_at: now.toISOString(), started_by: actor, due_at: schedule.dueAt, period: options.period ?? null })
      .onConflict((oc) => oc.columns(['review', 'period']).where('period', 'is not', null).doNothing())
      .executeTakeFirst();
    if (inserted.numInsertedOrUpdatedRows === 0n) throw new JmlError('conflict', `review "${review.name}" already has its campaign for the period starting ${options.period}`);
    // Reviewers go in with each row (one statement per chunk), not by a second pass over the campaign.
    await bulkInsert(trx, 'review_items', ITEM_COLUMNS, start.items, { map: (item) => itemRow(id, item) });
    await appendAudit(trx, { actor, action: 'review.started', subject: `review:${id}`, trigger: 'review', details: { review: review.name, items: start.items.length, unassigned: start.unassigned, snapshotHash: start.snapshotHash, dueAt: schedule.dueAt, period: options.period ?? null } }, now);
  });
  return { id, items: start.items.length, unassigned: start.unassigned, snapshotHash: start.snapshotHash };
}

const ITEM_COLUMNS = { id: 'text', campaign_id: 'text', identity_key: 'text', system: 'text', entitlement: 'text', privileged: 'boolean', context: 'jsonb', stage: 'integer', reviewers: 'text[]' } as const;

function itemRow(campaignId: string, item: ReviewItem): Record<string, unknown> {
  return { id: item.id, campaign_id: campaignId, identity_key: item.identityKey, system: item.system, entitlement: item.entitlement, privileged: item.privileged, context: storedContext(item), stage: 0, reviewers: item.reviewers };
}

/** A reviewer's decision on items of an open campaign, all or nothing; one audit entry per item. */
export async function decideReviewItems(deps: ReviewDeps, campaignId: string, input: Omit<DecisionInput, 'at' | 'today'>, now: Date): Promise<{ decided: number }> {
  // Loaded before the transaction: on PGlite the root handle waits for the transaction's one connection.
  const context = await reviewerContext(deps);
  return deps.db.transaction().execute(async (trx) => {
    const campaign = await openCampaign(trx, campaignId);
    const review = campaign.definition as ReviewDef;
    const states = await loadItemStates(trx, campaignId, input.itemIds);
    const result = decide(review, states, { ...input, at: now.toISOString(), today: dateIn(now, deps.timeZone) }, context);
    if (!result.ok) {
      const shown = result.refusals.slice(0, 5).map((r) => (r.itemId ? `${r.itemId}: ${r.reason}` : r.reason)).join('; ');
      throw new JmlError(result.needsConfirmation ? 'conflict' : 'forbidden', `decision refused: ${shown}${result.refusals.length > 5 ? ` (and ${result.refusals.length - 5} more)` : ''}`, { details: { refusals: result.refusals, needsConfirmation: result.needsConfirmation ?? null } });
    }
    await appendAudit(trx, result.recorded.map((d) => ({ actor: d.reviewer, action: 'review.decided', subject: `review:${campaignId}`, trigger: 'review', details: { item: d.itemId, stage: d.stage, decision: d.decision, until: d.until, comment: d.comment } })), now);
    const head = await trx.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow();
    const first = Number(head.seq) - result.recorded.length + 1;
    await bulkInsert(trx, 'review_decisions', DECISION_COLUMNS, result.recorded, {
      map: (d, i) => ({ id: orderedId(now.getTime()), campaign_id: campaignId, item_id: d.itemId, stage: d.stage, reviewer: d.reviewer, decision: d.decision, until: d.until, comment: d.comment, at: d.at, audit_seq: first + i }),
    });
    await saveItemStates(trx, result.recorded.map((d) => result.states.get(d.itemId)!));
    return { decided: result.recorded.length };
  });
}

const DECISION_COLUMNS = { id: 'text', campaign_id: 'text', item_id: 'text', stage: 'integer', reviewer: 'text', decision: 'text', until: 'text', comment: 'text', at: 'timestamptz', audit_seq: 'bigint' } as const;

/** Hands a reviewer's open items to someone else, audited (`review.delegated`). */
export async function delegateReviewItems(deps: ReviewDeps, campaignId: string, delegation: { from: string; to: string; itemIds: readonly string[]; actor: string }, now: Date): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await openCampaign(trx, campaignId);
    const result = delegate(await loadItemStates(trx, campaignId, delegation.itemIds), { ...delegation, at: now.toISOString() });
    if (!result.ok) throw new JmlError('forbidden', `delegation refused: ${result.refusals.map((r) => r.reason).join('; ')}`, { details: { refusals: result.refusals } });
    await saveItemStates(trx, delegation.itemIds.map((id) => result.states.get(id)!));
    await appendAudit(trx, { actor: delegation.actor, action: 'review.delegated', subject: `review:${campaignId}`, trigger: 'review', details: { from: delegation.from, to: delegation.to, items: delegation.itemIds } }, now);
  });
}

/**
 * The blast-radius preview of closing now, without closing.
 */
export async function previewClose(db: Db, campaignId: string): Promise<CampaignOutcome> {
  const campaign = await getCampaign(db, campaignId);
  const review = campaign.definition as ReviewDef;
  return closeCampaign((await loadItemStates(db, campaignId)).values(), review.noResponse, review.cap);
}

/**
 * Closes a campaign: unanswered items take the no-response outcome. When the
 * cap is exceeded the campaign is `held` and nothing is applied until
 * `release` is given (by a person, audited); otherwise removals are applied.
 */
export async function closeReviewCampaign(deps: ReviewDeps, campaignId: string, actor: string, now: Date, options: { readonly release?: boolean } = {}): Promise<{ state: CampaignRow['state']; outcome: CampaignOutcome; changedIdentities: readonly string[] }> {
  return deps.db.transaction().execute(async (trx) => {
    const campaign = await getCampaign(trx, campaignId, { lock: true });
    if (campaign.state !== 'open' && campaign.state !== 'held') throw new JmlError('conflict', `campaign ${campaignId} is already ${campaign.state}`);
    const review = campaign.definition as ReviewDef;
    const states = await loadItemStates(trx, campaignId);
    const outcome = closeCampaign(states.values(), review.noResponse, review.cap);
    const details = { preview: outcome.preview, heldBecause: outcome.heldBecause };
    if (outcome.held && !options.release) {
      await trx.updateTable('review_campaigns').set({ state: 'held', outcome: JSON.stringify(details), closed_at: now.toISOString(), closed_by: actor }).where('id', '=', campaignId).execute();
      await appendAudit(trx, { actor, action: 'review.held', subject: `review:${campaignId}`, trigger: 'review', details }, now);
      return { state: 'held' as const, outcome, changedIdentities: [] };
    }
    for (const o of outcome.outcomes) {
      if (o.by === 'no_response') await trx.updateTable('review_items').set({ outcome: o.outcome, outcome_by: 'no_response' }).where('id', '=', o.itemId).execute();
    }
    const removals = outcome.outcomes.filter((o) => o.outcome === 'remove').map((o) => states.get(o.itemId)!.item);
    const reductions = outcome.outcomes.filter((o) => o.outcome === 'reduce').map((o) => ({ item: states.get(o.itemId)!.item, until: o.until! }));
    await endAssignments(trx, removals, reductions, actor, now, deps.timeZone);
    const state = removals.length === 0 ? 'complete' as const : 'applying' as const;
    await trx.updateTable('review_campaigns').set({ state, outcome: JSON.stringify(details), closed_at: now.toISOString(), closed_by: actor, released_by: outcome.held ? actor : null }).where('id', '=', campaignId).execute();
    await appendAudit(trx, { actor, action: outcome.held ? 'review.released' : 'review.closed', subject: `review:${campaignId}`, trigger: 'review', details: { ...details, removals: removals.length } }, now);
    const changedIdentities = [...new Set([...removals.map((i) => i.identityKey), ...reductions.map((r) => r.item.identityKey)])].sort();
    return { state, outcome, changedIdentities };
  });
}

/**
 * Removals end the stored request or exception assignments now (so the normal
 * plan removes the grant jml assigned), and an out-of-policy grant is already
 * what the plan removes under full enforcement; both are `planned` until a
 * reconcile confirms the grant is gone. Access a rule gives cannot be removed by
 * a review (the plan would give it back): it is `blocked`, open and visible.
 */
async function endAssignments(trx: Db, removals: readonly ReviewItem[], reductions: readonly { item: ReviewItem; until: string }[], actor: string, now: Date, timeZone: string): Promise<void> {
  for (const item of removals) {
    const byRule = item.reasons.some((r) => r.type === 'rule');
    if (byRule) {
      await trx.updateTable('review_items').set({ removal: 'blocked', removal_detail: 'a policy rule gives this access: change the rule or the identity\'s data' }).where('id', '=', item.id).execute();
      continue;
    }
    if (item.entitlement !== null) {
      await trx.updateTable('assignments').set({ state: 'revoked', valid_to: now.toISOString(), ended_at: now.toISOString(), ended_by: actor })
        .where('identity_key', '=', item.identityKey).where('system', '=', item.system).where('entitlement', '=', item.entitlement).where('state', '=', 'active').execute();
    }
    await trx.updateTable('review_items').set({ removal: 'planned', removal_detail: 'assignment ended; the next plan removes it' }).where('id', '=', item.id).execute();
  }
  for (const { item, until } of reductions) {
    if (item.entitlement === null) continue;
    await trx.updateTable('assignments').set({ valid_to: endOfLastDay(until, timeZone) })
      .where('identity_key', '=', item.identityKey).where('system', '=', item.system).where('entitlement', '=', item.entitlement).where('state', '=', 'active').execute();
  }
}

/**
 * Confirms planned removals. In a system with a connector, against the latest
 * reconcile: an item whose grant (or account) the target no longer shows is
 * `confirmed`. In a system without one (`manualSystems`), the plan's removal is
 * a manual task: the item is linked to it (`task_id`) and confirmed only when
 * the task is settled (closed with evidence, and confirmed where the system
 * asks for a second person). The campaign becomes `complete` only when no
 * removal is still planned or blocked.
 */
export async function confirmReviewRemovals(db: Db, campaignId: string, actor: string, now: Date, options: { readonly manualSystems?: readonly string[] } = {}): Promise<{ confirmed: number; open: number; state: CampaignRow['state'] }> {
  const manual = new Set(options.manualSystems ?? []);
  return db.transaction().execute(async (trx) => {
    const campaign = await getCampaign(trx, campaignId, { lock: true });
    const planned = await trx.selectFrom('review_items').select(['id', 'identity_key', 'system', 'entitlement', 'context', 'task_id', 'removal_detail']).where('campaign_id', '=', campaignId).where('removal', '=', 'planned').execute();
    const { observed } = await loadObserved(trx, [...new Set(planned.filter((p) => !manual.has(p.system)).map((p) => p.system))]);
    const present = new Set<string>();
    for (const system of observed) {
      forEachGrant(system, (accountId, entitlement) => present.add(`${system.system}\u001f${accountId}\u001f${entitlement}`));
      for (const a of system.accounts) present.add(`${system.system}\u001f${a.accountId}\u001f`);
    }
    const tasks = await removalTasks(trx, planned.filter((p) => manual.has(p.system)), campaign.closed_at);
    const confirmed: { id: string; identity_key: string; system: string; entitlement: string | null; detail: string; taskId: string | null }[] = [];
    for (const p of planned) {
      const accountId = (p.context as ReviewItem).accountId;
      if (!manual.has(p.system) || accountId === null) {
        if (accountId === null || !present.has(`${p.system}\u001f${accountId}\u001f${p.entitlement ?? ''}`)) confirmed.push({ ...p, detail: `read back absent at ${now.toISOString()}`, taskId: null });
        continue;
      }
      const task = tasks.get(`${p.identity_key}\u001f${p.system}\u001f${p.entitlement ?? ''}`);
      if (!task) continue; // the plan has not opened its task yet
      if (task.settled) {
        confirmed.push({ ...p, detail: `manual task ${task.id} closed by ${task.closedBy ?? 'unknown'}${task.confirmedBy ? `, confirmed by ${task.confirmedBy}` : ''}`, taskId: task.id });
      } else if (p.task_id !== task.id || p.removal_detail !== taskDetail(task)) {
        await trx.updateTable('review_items').set({ task_id: task.id, removal_detail: taskDetail(task) }).where('id', '=', p.id).execute();
      }
    }
    for (const c of confirmed) {
      await trx.updateTable('review_items').set({ removal: 'confirmed', removal_detail: c.detail, ...(c.taskId ? { task_id: c.taskId } : {}) }).where('id', '=', c.id).execute();
    }
    if (confirmed.length > 0) {
      await appendAudit(trx, confirmed.map((c) => ({ actor, action: 'review.removal_confirmed', subject: `review:${campaignId}`, trigger: 'reconcile', details: { item: c.id, identity: c.identity_key, system: c.system, entitlement: c.entitlement, ...(c.taskId ? { task: c.taskId } : {}) } })), now);
    }
    const open = Number((await trx.selectFrom('review_items').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', campaignId).where('removal', 'in', ['planned', 'blocked']).executeTakeFirstOrThrow()).n);
    let state = campaign.state;
    if (state === 'applying' && open === 0) {
      state = 'complete';
      await trx.updateTable('review_campaigns').set({ state }).where('id', '=', campaignId).execute();
      await appendAudit(trx, { actor, action: 'review.completed', subject: `review:${campaignId}`, trigger: 'reconcile', details: { confirmed: confirmed.length } }, now);
    }
    return { confirmed: confirmed.length, open, state };
  });
}

/** The policy's systems without a connector: their changes are manual tasks. */
export function manualSystemsOf(policy: Pick<Policy, 'systems'>): string[] {
  return policy.systems.filter((s) => s.connector.type === 'manual').map((s) => s.name);
}

interface RemovalTask { readonly id: string; readonly status: string; readonly settled: boolean; readonly closedBy: string | null; readonly confirmedBy: string | null }

function taskDetail(task: RemovalTask): string {
  return `manual task ${task.id} ${task.status === 'open' ? 'open' : 'closed, waiting for a second person to confirm it'}`;
}

/** The latest task opened since the campaign closed that removes each item's grant (or its account, for an item with no entitlement). */
async function removalTasks(db: Db, items: readonly { identity_key: string; system: string }[], since: Date | null): Promise<Map<string, RemovalTask>> {
  if (items.length === 0) return new Map();
  let query = db.selectFrom('tasks').select(['id', 'identity_key', 'system', 'kind', 'change', 'status', 'needs_confirmation', 'closed_by', 'confirmed_by'])
    .where('kind', 'in', ['remove_grant', 'disable_account', 'delete_account'])
    .where('system', 'in', [...new Set(items.map((i) => i.system))]).where('identity_key', 'in', [...new Set(items.map((i) => i.identity_key))])
    .orderBy('created_at');
  if (since) query = query.where('created_at', '>=', since);
  const out = new Map<string, RemovalTask>();
  for (const t of await query.execute()) {
    const entitlement = t.kind === 'remove_grant' ? ((t.change as { entitlement?: string }).entitlement ?? '') : '';
    const settled = t.status === 'confirmed' || (t.status === 'done' && !t.needs_confirmation);
    out.set(`${t.identity_key}\u001f${t.system}\u001f${entitlement}`, { id: t.id, status: t.status, settled, closedBy: t.closed_by, confirmedBy: t.confirmed_by });
  }
  return out;
}

async function openCampaign(db: Db, campaignId: string): Promise<CampaignRow> {
  const campaign = await getCampaign(db, campaignId);
  if (campaign.state !== 'open') throw new JmlError('conflict', `campaign ${campaignId} is ${campaign.state}: decisions are closed`);
  return campaign;
}

async function reviewerContext(deps: ReviewDeps): Promise<ReviewerContext> {
  const { input } = await deps.planner.loadInput();
  const held = new Set<string>();
  const linked = new Map<string, string>();
  forEachLink(input.observed, input.links ?? [], (l) => linked.set(`${l.system}\u001f${l.accountId}`, l.identityKey));
  for (const system of input.observed) {
    forEachGrant(system, (accountId, entitlement) => {
      const key = linked.get(`${system.system}\u001f${accountId}`);
      if (key) held.add(`${key}\u001f${system.system}\u001f${entitlement}`);
    });
  }
  return { policy: input.policy, identities: new Map(input.identities.map((i) => [i.key, i])), holds: (key, system, entitlement) => held.has(`${key}\u001f${system}\u001f${entitlement}`) };
}

export type { ItemState, ReviewDecision };
