/**
 * Notifications: what jml tells a person (by email) or a system (by webhook).
 * Shared by reviews, approvals, tasks, attestation and alerts: each produces
 * Notification values; this module renders, groups and delivers them.
 */

export const NOTIFICATION_TOPICS = ['review', 'approval', 'task', 'attestation', 'alert'] as const;
export type NotificationTopic = (typeof NOTIFICATION_TOPICS)[number];

export interface Notification {
  /** Identity key of the person, or `system:<name>` for a webhook. */
  readonly recipient: string;
  /** Where an email goes; null when the person has none (the notification is reported, not lost). */
  readonly email: string | null;
  readonly topic: NotificationTopic;
  /** One line: what is asked of the recipient. */
  readonly title: string;
  /** Further lines of plain text (no markup: templates escape them). */
  readonly lines: readonly string[];
  /** A console path to act on it (`/reviews?campaign=…`), joined to the console's base URL. */
  readonly link: string | null;
  /** ISO instant it became due. */
  readonly at: string;
  /** `urgent`: sent at once rather than in the day's digest (escalations, alerts). */
  readonly urgent: boolean;
}

/** A system told by webhook about notifications of some topics. Its secret is read from `secretEnv` at delivery. */
export interface WebhookTarget {
  readonly name: string;
  readonly url: string;
  readonly secretEnv: string;
  readonly topics: readonly NotificationTopic[];
}
