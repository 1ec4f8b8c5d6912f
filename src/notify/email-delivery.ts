/**
 * Sending a batch of notifications by email: grouped into digests, each sent
 * once; people without an address are returned so the caller can report them.
 */
import { planEmails } from './email-digest.ts';
import type { Notification } from './notification.ts';
import type { EmailSender } from './smtp-sender.ts';

export interface DeliveryReport {
  readonly sent: readonly { readonly key: string; readonly to: string; readonly messageId: string }[];
  readonly failed: readonly { readonly key: string; readonly to: string; readonly error: string }[];
  readonly undeliverable: readonly Notification[];
}

/**
 * Sends `notifications` as one digest per person per day (urgent ones alone); a failed email does not stop the others.
 * @example await deliverEmails(sender, notifications, { timeZone: 'Europe/Paris', baseUrl: 'https://jml.example.test' })
 */
export async function deliverEmails(sender: EmailSender, notifications: readonly Notification[], options: { readonly timeZone: string; readonly baseUrl: string }): Promise<DeliveryReport> {
  const plan = planEmails(notifications, options.timeZone, options.baseUrl);
  const sent: { key: string; to: string; messageId: string }[] = [];
  const failed: { key: string; to: string; error: string }[] = [];
  for (const email of plan.emails) {
    try {
      sent.push({ key: email.key, to: email.to, messageId: await sender.send(email) });
    } catch (error) {
      failed.push({ key: email.key, to: email.to, error: (error as Error).message });
    }
  }
  return { sent, failed, undeliverable: plan.undeliverable };
}
