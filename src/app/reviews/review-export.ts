/**
 * Evidence of a campaign: every item with its decisions (reviewer, time,
 * comment, audit sequence number), its outcome and the confirmation of each
 * removal, under the snapshot hash the campaign started from. JSON for
 * machines, CSV (formula-safe) for auditors.
 */
import type { Kysely } from 'kysely';
import { csvText } from '../../domain/csv-text.ts';
import type { ReviewItem } from '../../engine/review-campaign.ts';
import type { Database } from '../../store/database.ts';
import { campaignDecisions, getCampaign } from './review-queries.ts';

export interface ExportedItem {
  readonly item: string;
  readonly identity: string;
  readonly system: string;
  readonly entitlement: string | null;
  readonly privileged: boolean;
  readonly recommendation: string;
  readonly outcome: string | null;
  readonly outcomeBy: string | null;
  readonly removal: string | null;
  readonly removalDetail: string | null;
  /** The manual task that carried out the removal, in a system without a connector. */
  readonly removalTask: string | null;
  readonly decisions: readonly { readonly stage: number; readonly reviewer: string; readonly decision: string; readonly until: string | null; readonly at: string; readonly comment: string; readonly auditSeq: number }[];
}

export interface CampaignExport {
  readonly campaign: { readonly id: string; readonly review: string; readonly state: string; readonly snapshotHash: string; readonly startedAt: string; readonly startedBy: string; readonly closedAt: string | null; readonly closedBy: string | null; readonly releasedBy: string | null };
  readonly items: readonly ExportedItem[];
}

/**
 * The campaign's evidence as JSON and as CSV (one row per decision; items without one get a row of their own).
 * @example const { csv } = await exportCampaign(db, 'rc_01J…');
 */
export async function exportCampaign(db: Kysely<Database>, campaignId: string): Promise<{ json: CampaignExport; csv: string }> {
  const c = await getCampaign(db, campaignId);
  const decisions = await campaignDecisions(db, campaignId);
  const byItem = new Map<string, ExportedItem['decisions'][number][]>();
  for (const d of decisions) {
    const list = byItem.get(d.itemId) ?? [];
    list.push({ stage: d.stage + 1, reviewer: d.reviewer, decision: d.decision, until: d.until, at: d.at, comment: d.comment, auditSeq: d.auditSeq });
    byItem.set(d.itemId, list);
  }
  const rows = await db.selectFrom('review_items').select(['id', 'identity_key', 'system', 'entitlement', 'privileged', 'context', 'outcome', 'outcome_by', 'removal', 'removal_detail', 'task_id'])
    .where('campaign_id', '=', campaignId).orderBy('identity_key').orderBy('system').orderBy('entitlement').execute();
  const items: ExportedItem[] = rows.map((r) => ({
    item: r.id, identity: r.identity_key, system: r.system, entitlement: r.entitlement, privileged: r.privileged,
    recommendation: (r.context as ReviewItem).recommendation, outcome: r.outcome, outcomeBy: r.outcome_by, removal: r.removal, removalDetail: r.removal_detail, removalTask: r.task_id,
    decisions: byItem.get(r.id) ?? [],
  }));
  const json: CampaignExport = {
    campaign: { id: c.id, review: c.review, state: c.state, snapshotHash: c.snapshot_hash, startedAt: c.started_at.toISOString(), startedBy: c.started_by, closedAt: c.closed_at?.toISOString() ?? null, closedBy: c.closed_by, releasedBy: c.released_by },
    items,
  };
  const header = ['campaign', 'snapshot_hash', 'item', 'identity', 'system', 'entitlement', 'privileged', 'recommendation', 'stage', 'reviewer', 'decision', 'until', 'decided_at', 'comment', 'audit_seq', 'outcome', 'outcome_by', 'removal', 'removal_detail', 'removal_task'];
  const csvRows = items.flatMap((i) => {
    const base = [c.id, c.snapshot_hash, i.item, i.identity, i.system, i.entitlement, i.privileged, i.recommendation] as const;
    const tail = [i.outcome, i.outcomeBy, i.removal, i.removalDetail, i.removalTask] as const;
    if (i.decisions.length === 0) return [[...base, null, null, null, null, null, null, null, ...tail]];
    return i.decisions.map((d) => [...base, d.stage, d.reviewer, d.decision, d.until, d.at, d.comment, d.auditSeq, ...tail]);
  });
  return { json, csv: csvText(header, csvRows) };
}
