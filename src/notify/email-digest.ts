/**
 * Grouping into emails: one digest per person per day (in the organisation's
 * time zone) by default; an urgent notification goes on its own, at once.
 */
import { dateIn } from '../engine/org-calendar.ts';
import { renderEmail, type RenderedEmail } from './email-templates.ts';
import type { Notification } from './notification.ts';

export interface DigestPlan {
  readonly emails: readonly (RenderedEmail & { readonly key: string })[];
  /** Notifications for people without an email address. */
  readonly undeliverable: readonly Notification[];
}

/**
 * The emails for `notifications`. Each email's `key` (`address/day` or `address/urgent/…`) lets the sender skip one already sent.
 * @example planEmails(notifications, 'Europe/Paris', 'https://jml.example.test').emails
 */
export function planEmails(notifications: readonly Notification[], timeZone: string, baseUrl: string): DigestPlan {
  const groups = new Map<string, { to: string; day: string; items: Notification[] }>();
  const undeliverable: Notification[] = [];
  for (const n of notifications) {
    if (n.email === null || n.email === '') {
      undeliverable.push(n);
      continue;
    }
    const day = dateIn(n.at, timeZone);
    const key = n.urgent ? `${n.email}/urgent/${n.topic}/${n.at}/${n.title}` : `${n.email}/${day}`;
    const group = groups.get(key) ?? { to: n.email, day, items: [] };
    group.items.push(n);
    groups.set(key, group);
  }
  const emails = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, g]) => ({ key, ...renderEmail(g.to, g.day, g.items, baseUrl) }));
  return { emails, undeliverable };
}
