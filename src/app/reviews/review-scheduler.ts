/**
 * What the worker does for access reviews on each tick: start each recurring
 * review's campaign for its period, close campaigns at their due instant (the
 * no-response rule and its cap decide), send the reminders and escalations
 * that are due, and confirm removals against the latest reconcile.
 *
 * Safe to run from several workers at once and again after a restart: a
 * period's campaign is inserted once (unique review + period), a close takes
 * the campaign's row lock and refuses a campaign no longer open, and a
 * reminder is marked sent in the transaction that queues it.
 */
import type { Kysely } from 'kysely';
import { isJmlError } from '../../domain/errors.ts';
import type { ReviewDef } from '../../domain/review.ts';
import { reviewScheduleWork } from '../../engine/review-schedule.ts';
import type { Database } from '../../store/database.ts';
import type { Notification } from '../../notify/notification.ts';
import type { Planner } from '../compute-plan.ts';
import { closeReviewCampaign, confirmReviewRemovals, manualSystemsOf, startReviewCampaign, type ReviewDeps } from './review-campaigns.ts';
import { dueReviewNotifications } from './review-reminders.ts';

type Db = Kysely<Database>;

/** The scheduler acts as this actor in the audit trail. */
export const REVIEW_SCHEDULER = 'scheduler';

export interface ReviewScheduleDeps extends ReviewDeps {
  readonly planner: Pick<Planner, 'loadInput' | 'loadPolicy'>;
  /** Queues notifications for delivery, inside the transaction that marks them sent. */
  readonly enqueue?: (trx: Db, notifications: readonly Notification[]) => Promise<void>;
  /** Plans and submits for identities whose assignments a close ended. */
  readonly replan?: (identityKeys: readonly string[], reason: string) => Promise<unknown>;
}

export interface ReviewScheduleReport {
  readonly started: readonly { readonly id: string; readonly review: string; readonly period: string; readonly items: number }[];
  readonly closed: readonly { readonly id: string; readonly state: string }[];
  readonly notified: number;
  readonly confirmed: number;
}

/**
 * One scheduler tick at `now`.
 * @example await runReviewSchedule({ db, planner, timeZone: 'Europe/Paris', enqueue, replan }, new Date());
 */
export async function runReviewSchedule(deps: ReviewScheduleDeps, now: Date): Promise<ReviewScheduleReport> {
  const { policy } = await deps.planner.loadPolicy();
  const reviews: readonly ReviewDef[] = policy.reviews ?? [];
  // Every campaign, complete ones included: a period is started once, whatever became of its campaign.
  const rows = await deps.db.selectFrom('review_campaigns').select(['id', 'review', 'period', 'state', 'due_at']).execute();
  const campaigns = rows.map((r) => ({ id: r.id, review: r.review, period: r.period, state: r.state, dueAt: r.due_at.toISOString() }));
  const work = reviewScheduleWork(reviews, campaigns, now, deps.timeZone);

  const started: { id: string; review: string; period: string; items: number }[] = [];
  for (const { review, period } of work.start) {
    try {
      const result = await startReviewCampaign(deps, review, REVIEW_SCHEDULER, now, { period });
      started.push({ id: result.id, review, period, items: result.items });
    } catch (error) {
      if (!isJmlError(error, 'conflict')) throw error; // another worker started this period's campaign first
    }
  }

  const closed: { id: string; state: string }[] = [];
  for (const id of work.close) {
    try {
      const result = await closeReviewCampaign(deps, id, REVIEW_SCHEDULER, now);
      closed.push({ id, state: result.state });
      if (result.changedIdentities.length > 0) await deps.replan?.(result.changedIdentities, `review campaign ${id} closed`);
    } catch (error) {
      if (!isJmlError(error, 'conflict')) throw error; // closed by a person or another worker meanwhile
    }
  }

  const notified = (await dueReviewNotifications(deps.db, now, deps.timeZone, deps.enqueue)).length;

  let confirmed = 0;
  const applying = await deps.db.selectFrom('review_campaigns').select('id').where('state', '=', 'applying').execute();
  for (const { id } of applying) confirmed += (await confirmReviewRemovals(deps.db, id, REVIEW_SCHEDULER, now, { manualSystems: manualSystemsOf(policy) })).confirmed;
  return { started, closed, notified, confirmed };
}
