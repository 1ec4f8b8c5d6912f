/**
 * Reminders and escalation of open campaigns, as notifications: each reviewer
 * with open items is reminded at the schedule's reminder times; at the
 * escalation time the reviewer's manager becomes a reviewer of their open
 * items too and is told at once. Each reminder is sent once (`notified`),
 * queued for delivery (`enqueue`) in the same transaction.
 */
import type { Kysely } from 'kysely';
import type { ReviewDef } from '../../domain/review.ts';
import { dateIn } from '../../engine/org-calendar.ts';
import { campaignSchedule } from '../../engine/review-schedule.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import type { Notification } from '../../notify/notification.ts';

type Db = Kysely<Database>;

/**
 * The review notifications due at `now`, marking them sent in the same transaction
 * (and handing them to `enqueue` inside it).
 * @example const due = await dueReviewNotifications(db, new Date(), 'Europe/Paris');
 */
export async function dueReviewNotifications(db: Db, now: Date, timeZone: string, enqueue?: (trx: Db, notifications: readonly Notification[]) => Promise<void>): Promise<Notification[]> {
  return db.transaction().execute(async (trx) => {
    const out: Notification[] = [];
    const campaigns = await trx.selectFrom('review_campaigns').selectAll().where('state', '=', 'open').forUpdate().execute();
    for (const c of campaigns) {
      const review = c.definition as ReviewDef;
      const schedule = campaignSchedule(review, c.period ?? dateIn(c.started_at, timeZone), timeZone);
      const sent = new Set(c.notified);
      const due = schedule.reminders.filter((r) => r.at <= now.toISOString() && !sent.has(`reminder:${r.at}`));
      const escalate = schedule.escalateAt !== null && schedule.escalateAt <= now.toISOString() && !sent.has('escalation');
      if (due.length === 0 && !escalate) continue;
      const open = await trx.selectFrom('review_items').select(['id', 'identity_key', 'reviewers']).where('campaign_id', '=', c.id).where('outcome', 'is', null).execute();
      const perReviewer = new Map<string, number>();
      for (const item of open) for (const r of item.reviewers) perReviewer.set(r, (perReviewer.get(r) ?? 0) + 1);
      const people = await identitiesOf(trx, [...perReviewer.keys()]);
      const dueDay = dateIn(new Date(Date.parse(schedule.dueAt) - 1), timeZone);
      if (due.length > 0) {
        for (const [reviewer, count] of [...perReviewer.entries()].sort()) {
          out.push({ recipient: reviewer, email: people.get(reviewer)?.email ?? null, topic: 'review', title: `Access review "${review.name}": ${count} item(s) waiting for your decision`, lines: [`Due by the end of ${dueDay}.`], link: `/reviews?campaign=${encodeURIComponent(c.id)}`, at: now.toISOString(), urgent: false });
        }
      }
      if (escalate) {
        // The reviewer's manager joins as a reviewer of what is still open; never for the manager's own access.
        const additions: { id: string; reviewers: string[] }[] = [];
        const told = new Map<string, number>();
        for (const item of open) {
          const managers = item.reviewers.map((r) => people.get(r)?.manager).filter((m): m is string => !!m && m !== item.identity_key && !item.reviewers.includes(m));
          if (managers.length === 0) continue;
          additions.push({ id: item.id, reviewers: [...new Set([...item.reviewers, ...managers])].sort() });
          for (const m of new Set(managers)) told.set(m, (told.get(m) ?? 0) + 1);
        }
        for (const a of additions) await trx.updateTable('review_items').set({ reviewers: a.reviewers }).where('id', '=', a.id).execute();
        const managers = await identitiesOf(trx, [...told.keys()]);
        for (const [manager, count] of [...told.entries()].sort()) {
          out.push({ recipient: manager, email: managers.get(manager)?.email ?? null, topic: 'review', title: `Escalated: access review "${review.name}" has ${count} overdue item(s) from your team's reviewers`, lines: [`Due by the end of ${dueDay}. You may decide them yourself.`], link: `/reviews?campaign=${encodeURIComponent(c.id)}`, at: now.toISOString(), urgent: true });
        }
        await appendAudit(trx, { actor: 'scheduler', action: 'review.escalated', subject: `review:${c.id}`, trigger: 'schedule', details: { items: additions.length, managers: [...told.keys()].sort() } }, now);
      }
      const notified = [...sent, ...due.map((r) => `reminder:${r.at}`), ...(escalate ? ['escalation'] : [])];
      await trx.updateTable('review_campaigns').set({ notified: JSON.stringify(notified) }).where('id', '=', c.id).execute();
    }
    // Queued in the transaction that marks them sent: a crash in between neither loses nor repeats a reminder.
    if (enqueue && out.length > 0) await enqueue(trx, out);
    return out;
  });
}

async function identitiesOf(db: Db, keys: readonly string[]): Promise<Map<string, { email: string | null; manager: string | null }>> {
  if (keys.length === 0) return new Map();
  const rows = await db.selectFrom('identities').select(['key', 'attributes']).where('key', 'in', keys).execute();
  return new Map(rows.map((r) => {
    const a = r.attributes as Record<string, string | null>;
    return [r.key, { email: a.email ?? null, manager: a.manager ?? null }];
  }));
}
