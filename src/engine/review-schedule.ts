/**
 * When a review's campaigns run, in the organisation's time zone: the
 * recurrence's start dates, each campaign's due instant, its reminders (at the
 * midpoint and N days before the end) and the escalation to reviewers' managers.
 */
import type { ReviewDef } from '../domain/review.ts';
import { addDays, addMonths, dateIn, startOfDay } from './org-calendar.ts';

export interface CampaignSchedule {
  /** Calendar date the campaign starts (00:00 in the organisation's zone). */
  readonly startDate: string;
  readonly startsAt: string;
  /** Instant the campaign is due: 00:00 the day after its last day. */
  readonly dueAt: string;
  /** Reminder instants, ascending, each with what it is. */
  readonly reminders: readonly { readonly at: string; readonly kind: 'midpoint' | 'days_before'; readonly days: number }[];
  readonly escalateAt: string | null;
}

/**
 * The schedule of a campaign of `review` starting on `startDate`.
 * @example campaignSchedule(review, '2027-01-01', 'Europe/Paris').dueAt // '2027-01-14T23:00:00.000Z' for 14 days
 */
export function campaignSchedule(review: ReviewDef, startDate: string, timeZone: string): CampaignSchedule {
  const lastDayExclusive = addDays(startDate, review.durationDays);
  const reminders: { at: string; kind: 'midpoint' | 'days_before'; days: number }[] = [];
  if (review.reminders.midpoint) {
    const half = Math.floor(review.durationDays / 2);
    if (half > 0) reminders.push({ at: startOfDay(addDays(startDate, half), timeZone), kind: 'midpoint', days: review.durationDays - half });
  }
  for (const days of review.reminders.daysBefore) {
    if (days < review.durationDays) reminders.push({ at: startOfDay(addDays(lastDayExclusive, -days), timeZone), kind: 'days_before', days });
  }
  reminders.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    startDate,
    startsAt: startOfDay(startDate, timeZone),
    dueAt: startOfDay(lastDayExclusive, timeZone),
    reminders: reminders.filter((r, i) => i === 0 || r.at !== reminders[i - 1]!.at),
    escalateAt: review.escalateAfterDays === null ? null : startOfDay(addDays(startDate, review.escalateAfterDays), timeZone),
  };
}

/**
 * The start date of the first campaign of a recurring review on or after `today` (YYYY-MM-DD in the organisation's zone);
 * null for a review without recurrence (started by hand).
 */
export function nextCampaignDate(review: ReviewDef, today: string): string | null {
  if (review.recurrence === null) return null;
  const { from, everyMonths } = review.recurrence;
  let n = 0;
  let date = from;
  // Counting from the anchor each time keeps the 31st on the 31st where the month has one.
  while (date < today) date = addMonths(from, ++n * everyMonths);
  return date;
}

/**
 * The start date of the recurring review's period that contains `today` (the
 * latest recurrence date on or before it); null before the first one or for a
 * review without recurrence.
 */
export function currentCampaignDate(review: ReviewDef, today: string): string | null {
  if (review.recurrence === null || today < review.recurrence.from) return null;
  const { from, everyMonths } = review.recurrence;
  let n = 0;
  while (addMonths(from, (n + 1) * everyMonths) <= today) n++;
  return addMonths(from, n * everyMonths);
}

/** A campaign as the scheduler sees it. */
export interface ScheduledCampaign {
  readonly id: string;
  readonly review: string;
  /** The recurrence date it was started for; null when started by hand. */
  readonly period: string | null;
  readonly state: 'open' | 'held' | 'applying' | 'complete';
  readonly dueAt: string;
}

/** What the scheduler should do at one tick. */
export interface ReviewScheduleWork {
  /** Campaigns to start: the review and the period start date they are for. */
  readonly start: readonly { readonly review: string; readonly period: string }[];
  /** Open campaigns whose due instant has passed. */
  readonly close: readonly string[];
}

/**
 * What the scheduler does at `now`: start a campaign of each recurring review
 * whose current period has none yet — unless that period is already over (a
 * worker down for a whole period does not start an overdue campaign) — and
 * close each open campaign at its due instant. A held campaign waits for a person.
 * @example reviewScheduleWork(policy.reviews, campaigns, new Date(), 'Europe/Paris').start
 */
export function reviewScheduleWork(reviews: readonly ReviewDef[], campaigns: readonly ScheduledCampaign[], now: Date, timeZone: string): ReviewScheduleWork {
  const at = now.toISOString();
  const today = dateIn(now, timeZone);
  const started = new Set(campaigns.filter((c) => c.period !== null).map((c) => `${c.review}\u001f${c.period}`));
  const start: { review: string; period: string }[] = [];
  for (const review of reviews) {
    const period = currentCampaignDate(review, today);
    if (period === null || started.has(`${review.name}\u001f${period}`)) continue;
    if (campaignSchedule(review, period, timeZone).dueAt <= at) continue;
    start.push({ review: review.name, period });
  }
  const close = campaigns.filter((c) => c.state === 'open' && c.dueAt <= at).map((c) => c.id);
  return { start, close };
}
