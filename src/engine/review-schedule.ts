/**
 * When a review's campaigns run, in the organisation's time zone: the
 * recurrence's start dates, each campaign's due instant, its reminders (at the
 * midpoint and N days before the end) and the escalation to reviewers' managers.
 */
import type { ReviewDef } from '../domain/review.ts';
import { addDays, addMonths, startOfDay } from './org-calendar.ts';

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
