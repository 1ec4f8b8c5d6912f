/**
 * The monthly check runs by itself. On each scheduler tick: the check of the
 * current month (in the organisation's zone) is opened if it is not yet, and
 * the notices that have come due are handed over for delivery:
 *
 * - the invitation, to everyone with items, when the check opens;
 * - reminders at the midpoint and a day before the deadline, to those who
 *   have not answered everything;
 * - after the deadline, an urgent escalation to the manager of each person
 *   still owing answers.
 *
 * Safe from several workers and after a restart: a month's check is inserted
 * once (unique period), and each notice is marked sent in the same
 * transaction, under the check's row lock, that hands it over (`enqueue`).
 */
import type { Kysely } from 'kysely';
import { dateIn } from '../../engine/org-calendar.ts';
import type { Notification } from '../../notify/notification.ts';
import type { Database } from '../../store/database.ts';
import { dueAttestations, openMonthlyCheck } from './monthly-check.ts';

type Db = Kysely<Database>;

/** The console page where people answer their check. */
export const MONTHLY_CHECK_LINK = '/#/my-equipment';
const DAY_MS = 86_400_000;
/** Checks whose deadline passed longer ago than this are no longer chased. */
const CHASE_DAYS = 30;

export interface MonthlyCheckScheduleDeps {
  readonly db: Db;
  readonly timeZone: string;
  /** Days people have to answer once the check opens (default 7). */
  readonly answerDays?: number;
  /** Hands notices over for delivery, inside the transaction that marks them sent. */
  readonly enqueue?: (trx: Db, notifications: readonly Notification[]) => Promise<void>;
}

export interface MonthlyCheckTick {
  readonly campaignId: string;
  /** True when this tick opened the month's check. */
  readonly opened: boolean;
  readonly notified: number;
}

/**
 * One scheduler tick at `now`: opens this month's check once, then sends what is due.
 * @example await runMonthlyCheckSchedule({ db, timeZone: 'Europe/Paris', enqueue }, new Date())
 */
export async function runMonthlyCheckSchedule(deps: MonthlyCheckScheduleDeps, now: Date): Promise<MonthlyCheckTick> {
  const period = dateIn(now, deps.timeZone).slice(0, 7);
  const opened = await openMonthlyCheck(deps.db, { period, actor: 'scheduler', dueDays: deps.answerDays ?? 7 }, now);
  const notified = (await dueCheckNotices(deps, now)).length;
  return { campaignId: opened.campaignId, opened: opened.created, notified };
}

/**
 * The notices of every open check that are due at `now`, marked sent (and handed to `enqueue`) in one transaction each.
 * @example const notices = await dueCheckNotices({ db, timeZone: 'Europe/Paris' }, now)
 */
export async function dueCheckNotices(deps: Pick<MonthlyCheckScheduleDeps, 'db' | 'timeZone' | 'enqueue'>, now: Date): Promise<Notification[]> {
  const recent = new Date(now.getTime() - CHASE_DAYS * DAY_MS);
  const ids = await deps.db.selectFrom('attestation_campaigns').select('id').where('due_at', '>', recent).orderBy('period').execute();
  const out: Notification[] = [];
  for (const { id } of ids) {
    const notices = await deps.db.transaction().execute(async (trx) => {
      const check = await trx.selectFrom('attestation_campaigns').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
      const sent = new Set(check.notified);
      const due = noticesDue(check.opened_at.getTime(), check.due_at.getTime(), now.getTime()).filter((n) => !sent.has(n));
      if (due.length === 0) return [];
      const owing = (await dueAttestations(trx, now)).filter((d) => d.campaignId === id);
      const dueDay = dateIn(new Date(check.due_at.getTime() - 1), deps.timeZone);
      const at = now.toISOString();
      const notices: Notification[] = [];
      const people = await emailsOf(trx, [...owing.map((d) => d.respondentKey), ...owing.flatMap((d) => (d.escalateTo ? [d.escalateTo] : []))]);
      // One notice per person however many are due at once (a worker down for a week sends the latest only).
      const latest = due.filter((n) => n !== 'escalation').at(-1);
      if (latest) {
        const invitation = due.includes('invited');
        for (const d of owing) {
          notices.push({
            recipient: d.respondentKey, email: people.get(d.respondentKey) ?? null, topic: 'attestation', urgent: false, at, link: MONTHLY_CHECK_LINK,
            title: `${invitation ? 'Monthly check' : 'Reminder: monthly check'} ${check.period}: ${d.unanswered} item(s) to confirm`,
            lines: ['Confirm the equipment listed against you (by serial), say whether you still need each access, and report anything lost or stolen.', `Answer by the end of ${dueDay}.`],
          });
        }
      }
      if (due.includes('escalation')) {
        const team = new Map<string, string[]>();
        for (const d of owing) if (d.escalateTo) team.set(d.escalateTo, [...(team.get(d.escalateTo) ?? []), d.respondentKey]);
        for (const [manager, members] of [...team].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          notices.push({
            recipient: manager, email: people.get(manager) ?? null, topic: 'attestation', urgent: true, at, link: MONTHLY_CHECK_LINK,
            title: `Escalated: ${members.length} of your team have not answered the monthly check ${check.period}`,
            lines: [`The deadline was the end of ${dueDay}. Still to answer: ${members.sort().join(', ')}.`],
          });
        }
      }
      await trx.updateTable('attestation_campaigns').set({ notified: JSON.stringify([...sent, ...due]) }).where('id', '=', id).execute();
      if (notices.length > 0) await deps.enqueue?.(trx, notices);
      return notices;
    });
    out.push(...notices);
  }
  return out;
}

/**
 * Which notices of a check opened at `openedMs`, due at `dueMs`, have come due at `nowMs`, in order:
 * `invited`, `reminder:<instant>` at the midpoint and a day before the deadline, `escalation` after it.
 * @example noticesDue(Date.parse('2026-12-01'), Date.parse('2026-12-08'), Date.parse('2026-12-05')) // ['invited', 'reminder:2026-12-04T12:00:00.000Z']
 */
export function noticesDue(openedMs: number, dueMs: number, nowMs: number): string[] {
  const reminders = [...new Set([openedMs + (dueMs - openedMs) / 2, dueMs - DAY_MS])].filter((t) => t > openedMs && t < dueMs).sort((a, b) => a - b);
  return [
    'invited',
    ...reminders.filter((t) => t <= nowMs).map((t) => `reminder:${new Date(t).toISOString()}`),
    ...(nowMs > dueMs ? ['escalation'] : []),
  ];
}

async function emailsOf(db: Db, keys: readonly string[]): Promise<Map<string, string | null>> {
  if (keys.length === 0) return new Map();
  const rows = await db.selectFrom('identities').select(['key', 'attributes']).where('key', 'in', [...new Set(keys)]).execute();
  return new Map(rows.map((r) => {
    const email = (r.attributes as Record<string, unknown>).email;
    return [r.key, typeof email === 'string' && email !== '' ? email : null];
  }));
}
