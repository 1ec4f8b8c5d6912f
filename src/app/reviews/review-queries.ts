/**
 * Reading and writing review campaigns, items and decisions.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { reasonsWhy, type GrantProvenance, type ReviewItem } from '../../engine/review-campaign.ts';
import type { DecisionRecord, ItemState } from '../../engine/review-decisions.ts';
import type { Database, ReviewCampaignsTable } from '../../store/database.ts';

type Db = Kysely<Database>;
export type CampaignRow = Selectable<ReviewCampaignsTable>;

/** A campaign by id; `lock` takes it FOR UPDATE (inside a transaction). */
export async function getCampaign(db: Db, id: string, options: { readonly lock?: boolean } = {}): Promise<CampaignRow> {
  let query = db.selectFrom('review_campaigns').selectAll().where('id', '=', id);
  if (options.lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new JmlError('not_found', `no review campaign ${id}`);
  return row;
}

/** Campaigns, newest first, with item counts and completion. */
export async function listCampaigns(db: Db): Promise<(CampaignRow & { items: number; decided: number })[]> {
  const rows = await db.selectFrom('review_campaigns').selectAll().orderBy('started_at', 'desc').execute();
  const counts = await db.selectFrom('review_items').select((eb) => ['campaign_id', eb.fn.countAll<string>().as('items'), eb.fn.count<string>('outcome').as('decided')]).groupBy('campaign_id').execute();
  const byId = new Map(counts.map((c) => [c.campaign_id, c]));
  return rows.map((r) => ({ ...r, items: Number(byId.get(r.id)?.items ?? 0), decided: Number(byId.get(r.id)?.decided ?? 0) }));
}

/** Per reviewer: items still waiting for them, and items they decided, in one campaign. */
export async function reviewerProgress(db: Db, campaignId: string): Promise<{ reviewer: string; open: number; decided: number }[]> {
  const open = await db.selectFrom('review_items').select((eb) => [eb.fn<string>('unnest', ['reviewers']).as('reviewer')]).where('campaign_id', '=', campaignId).where('outcome', 'is', null).execute();
  const decided = await db.selectFrom('review_decisions').select(['reviewer', (eb) => eb.fn.countAll<string>().as('n')]).where('campaign_id', '=', campaignId).groupBy('reviewer').execute();
  const out = new Map<string, { reviewer: string; open: number; decided: number }>();
  for (const o of open) out.set(o.reviewer, { reviewer: o.reviewer, open: (out.get(o.reviewer)?.open ?? 0) + 1, decided: 0 });
  for (const d of decided) out.set(d.reviewer, { reviewer: d.reviewer, open: out.get(d.reviewer)?.open ?? 0, decided: Number(d.n) });
  return [...out.values()].sort((a, b) => (a.reviewer < b.reviewer ? -1 : 1));
}

/**
 * Items `reviewer` is one of the reviewers of. Written as containment (`@>`), which the partial GIN
 * index on open items' reviewers serves; `= ANY(reviewers)` would read every item of the campaign.
 */
function waitingFor(reviewer: string) {
  return sql<boolean>`review_items.reviewers @> ARRAY[${reviewer}]::text[]`;
}

/** Open items waiting for `reviewer`, across open campaigns, optionally of one campaign. */
export async function reviewInbox(db: Db, reviewer: string, campaignId?: string): Promise<(ReviewItem & { campaignId: string; stage: number })[]> {
  let query = db.selectFrom('review_items').innerJoin('review_campaigns', 'review_campaigns.id', 'review_items.campaign_id')
    .select(['review_items.id', 'review_items.identity_key', 'review_items.system', 'review_items.entitlement', 'review_items.privileged', 'review_items.campaign_id', 'review_items.context', 'review_items.stage'])
    .where('review_campaigns.state', '=', 'open').where('review_items.outcome', 'is', null)
    .where(waitingFor(reviewer))
    .orderBy('review_items.identity_key').orderBy('review_items.system').orderBy('review_items.entitlement');
  if (campaignId) query = query.where('review_items.campaign_id', '=', campaignId);
  return (await query.execute()).map((r) => ({ ...itemFromRow(r), campaignId: r.campaign_id, stage: r.stage }));
}

/** How many open items wait for `reviewer` across open campaigns (the console menu's count). */
export async function countReviewInbox(db: Db, reviewer: string): Promise<number> {
  const row = await db.selectFrom('review_items').innerJoin('review_campaigns', 'review_campaigns.id', 'review_items.campaign_id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('review_campaigns.state', '=', 'open').where('review_items.outcome', 'is', null)
    .where(waitingFor(reviewer))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The current state of items (all of the campaign's when `ids` is absent), with their decisions. */
export async function loadItemStates(db: Db, campaignId: string, ids?: readonly string[]): Promise<Map<string, ItemState>> {
  if (ids && ids.length === 0) return new Map();
  let items = db.selectFrom('review_items').selectAll().where('campaign_id', '=', campaignId);
  let decisions = db.selectFrom('review_decisions').selectAll().where('campaign_id', '=', campaignId).orderBy('at').orderBy('audit_seq');
  if (ids) {
    items = items.where('id', 'in', ids);
    decisions = decisions.where('item_id', 'in', ids);
  }
  const byItem = new Map<string, DecisionRecord[]>();
  for (const d of await decisions.execute()) {
    const list = byItem.get(d.item_id) ?? [];
    list.push({ itemId: d.item_id, stage: d.stage, reviewer: d.reviewer, decision: d.decision, until: d.until, comment: d.comment, at: d.at.toISOString() });
    byItem.set(d.item_id, list);
  }
  const out = new Map<string, ItemState>();
  for (const r of await items.execute()) {
    out.set(r.id, { item: itemFromRow(r), stage: r.stage, reviewers: r.reviewers, decisions: byItem.get(r.id) ?? [], outcome: r.outcome });
  }
  return out;
}

/**
 * What an item keeps in its `context` column: the item less what the row's own columns hold
 * (id, identity, system, entitlement, privileged), less the fields that are empty and less the
 * recommendation's reason where the reasons alone give it. A start
 * writes two million of these; the copies cost most of its time.
 */
export function storedContext(item: ReviewItem): Record<string, unknown> {
  const context: Record<string, unknown> = { accountId: item.accountId, reasons: item.reasons, peers: item.peers, recommendation: item.recommendation, reviewers: item.reviewers };
  if (item.recommendationWhy !== reasonsWhy(item.recommendation, item.reasons)) context.recommendationWhy = item.recommendationWhy;
  if (item.lastSignInAt !== null) context.lastSignInAt = item.lastSignInAt;
  if (item.grantedAt !== null) context.grantedAt = item.grantedAt;
  if (item.grantedBy !== null) context.grantedBy = item.grantedBy;
  if (item.conflictedReviewers.length > 0) context.conflictedReviewers = item.conflictedReviewers;
  return context;
}

/**
 * The item as the campaign start made it, from its row. Rows written before contexts were
 * slimmed hold every field in `context` and read the same.
 */
export function itemFromRow(row: { readonly id: string; readonly identity_key: string; readonly system: string; readonly entitlement: string | null; readonly privileged: boolean; readonly context: unknown }): ReviewItem {
  const c = row.context as Partial<ReviewItem> & Pick<ReviewItem, 'accountId' | 'reasons' | 'peers' | 'recommendation' | 'reviewers'>;
  return {
    id: row.id, identityKey: row.identity_key, system: row.system, entitlement: row.entitlement, accountId: c.accountId, privileged: row.privileged,
    reasons: c.reasons, lastSignInAt: c.lastSignInAt ?? null, grantedAt: c.grantedAt ?? null, grantedBy: c.grantedBy ?? null, peers: c.peers,
    recommendation: c.recommendation, recommendationWhy: c.recommendationWhy ?? reasonsWhy(c.recommendation, c.reasons) ?? '', reviewers: c.reviewers, conflictedReviewers: c.conflictedReviewers ?? [],
  };
}

/** Writes items' stage, reviewers and outcome back (one statement for all). */
export async function saveItemStates(db: Db, states: readonly ItemState[]): Promise<void> {
  if (states.length === 0) return;
  const rows = JSON.stringify(states.map((s) => ({ id: s.item.id, stage: s.stage, reviewers: s.reviewers, outcome: s.outcome, until: s.decisions.at(-1)?.until ?? null, by: s.outcome === null ? null : 'decision' })));
  await sql`
    UPDATE review_items AS i SET stage = r.stage, reviewers = ARRAY(SELECT jsonb_array_elements_text(r.reviewers)), outcome = r.outcome, outcome_by = r.by, until = r.until
    FROM jsonb_to_recordset(${rows}::jsonb) AS r(id text, stage integer, reviewers jsonb, outcome text, until text, by text)
    WHERE i.id = r.id
  `.execute(db);
}

/** When and by whom stored requests and exceptions were granted. */
export async function loadProvenance(db: Db): Promise<GrantProvenance[]> {
  const rows = await db.selectFrom('assignments').select(['identity_key', 'system', 'entitlement', 'created_at', 'created_by']).where('state', '=', 'active').execute();
  return rows.map((r) => ({ identityKey: r.identity_key, system: r.system, entitlement: r.entitlement, grantedAt: new Date(r.created_at as unknown as string).toISOString(), grantedBy: r.created_by }));
}

/** Every decision of a campaign in time order, with its audit sequence number. */
export async function campaignDecisions(db: Db, campaignId: string): Promise<(DecisionRecord & { auditSeq: number })[]> {
  const rows = await db.selectFrom('review_decisions').selectAll().where('campaign_id', '=', campaignId).orderBy('audit_seq').execute();
  return rows.map((d) => ({ itemId: d.item_id, stage: d.stage, reviewer: d.reviewer, decision: d.decision, until: d.until, comment: d.comment, at: d.at.toISOString(), auditSeq: Number(d.audit_seq) }));
}
