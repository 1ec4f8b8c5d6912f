/**
 * The dashboard's calendar views: the lifecycle events of the organisation's
 * "today" and the events per day of the last fortnight. Day boundaries are the
 * organisation's (DESIGN.md safety rule 4): a UTC day would put an Auckland
 * morning's events on yesterday and leave its chart a day behind.
 */
import { sql, type Kysely } from 'kysely';
import { displayName } from '../domain/identity.ts';
import type { LifecycleEventType } from '../domain/lifecycle-event.ts';
import { addDays, dateIn } from '../engine/org-calendar.ts';
import type { Database } from '../store/database.ts';
import { DEFAULT_LEAVER_SLA, leaverStatuses, type LeaverSlaTargets } from './leaver-sla.ts';

type Db = Kysely<Database>;

export interface TodayEvent {
  readonly id: string;
  readonly type: string;
  readonly identityKey: string;
  readonly displayName: string;
  readonly effectiveDate: string;
  readonly state: string;
}

/** One day of the chart: how many events of each type take effect on it. */
export type DayCounts = { readonly day: string } & Readonly<Record<LifecycleEventType, number>>;

/**
 * Events that take effect today in `timeZone`, newest first. An event imported
 * today but dated another day is not today's: a first import of a whole HR file
 * detects years of history at once. A rescinded event did not happen.
 * @example
 * await todaysEvents(db, new Date('2026-12-05T20:00:00Z'), 'Pacific/Auckland'); // events of 2026-12-06
 */
export async function todaysEvents(db: Db, now: Date, timeZone: string, limit = 50): Promise<TodayEvent[]> {
  const today = dateIn(now, timeZone);
  const rows = await db
    .selectFrom('lifecycle_events as e')
    .innerJoin('identities as i', 'i.key', 'e.identity_key')
    .select(['e.id', 'e.type', 'e.identity_key', 'e.effective_date', 'e.state', 'i.attributes'])
    .where('e.effective_date', '=', today)
    .where('e.state', '!=', 'rescinded')
    .orderBy('e.seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((e) => ({ id: e.id, type: e.type, identityKey: e.identity_key, displayName: displayName({ key: e.identity_key, attributes: e.attributes }), effectiveDate: e.effective_date, state: e.state }));
}

/**
 * Events per effective date and type for the `days` calendar days ending
 * today in `timeZone`, oldest first, every day present (zero when quiet).
 */
export async function eventsByDay(db: Db, now: Date, timeZone: string, days = 14): Promise<DayCounts[]> {
  const today = dateIn(now, timeZone);
  const first = addDays(today, -(days - 1));
  const rows = await db
    .selectFrom('lifecycle_events')
    .select([sql<string>`effective_date::text`.as('day'), 'type', sql<number>`count(*)::int`.as('n')])
    .where('effective_date', '>=', first)
    .where('effective_date', '<=', today)
    .where('state', '!=', 'rescinded')
    .groupBy(['effective_date', 'type'])
    .execute();
  const byDay = new Map<string, { day: string; joiner: number; mover: number; leaver: number; rehire: number }>();
  for (let day = first; day <= today; day = addDays(day, 1)) byDay.set(day, { day, joiner: 0, mover: 0, leaver: 0, rehire: 0 });
  for (const r of rows) {
    const counts = byDay.get(r.day);
    if (counts && (r.type === 'joiner' || r.type === 'mover' || r.type === 'leaver' || r.type === 'rehire')) counts[r.type] += r.n;
  }
  return [...byDay.values()];
}

/** What the dashboard's banner asks for: a plan to approve, or one to compute because events arrived since the last. */
export type PlanWaiting =
  | { readonly kind: 'approve'; readonly planId: string; readonly changes: number; readonly since: string }
  | { readonly kind: 'compute'; readonly events: number; readonly since: string };

/**
 * A plan awaiting approval (the oldest), else lifecycle events detected since
 * the newest plan was computed (or any, when none ever was); null when neither.
 * @example
 * const waiting = await planWaiting(db); // { kind: 'compute', events: 3, since: '…' }
 */
export async function planWaiting(db: Db): Promise<PlanWaiting | null> {
  const awaiting = await db.selectFrom('plan_previews').select(['id', 'changes', 'created_at']).where('status', '=', 'awaiting_approval').orderBy('created_at').limit(1).executeTakeFirst();
  if (awaiting) return { kind: 'approve', planId: awaiting.id, changes: awaiting.changes, since: new Date(awaiting.created_at).toISOString() };
  const [preview, plan] = await Promise.all([
    db.selectFrom('plan_previews').select(sql<Date | null>`max(created_at)`.as('at')).executeTakeFirstOrThrow(),
    db.selectFrom('plans').select(sql<Date | null>`max(created_at)`.as('at')).executeTakeFirstOrThrow(),
  ]);
  const times = [preview.at, plan.at].filter((t): t is Date => t !== null).map((t) => new Date(t).getTime());
  const lastPlan = times.length > 0 ? new Date(Math.max(...times)) : new Date(0);
  const events = await db
    .selectFrom('lifecycle_events')
    .select([sql<number>`count(*)::int`.as('n'), sql<Date | null>`min(detected_at)`.as('since')])
    .where('detected_at', '>', lastPlan)
    .where('state', '!=', 'rescinded')
    .executeTakeFirstOrThrow();
  return events.n > 0 && events.since !== null ? { kind: 'compute', events: events.n, since: new Date(events.since).toISOString() } : null;
}

export interface LeaverInProgress {
  readonly identityKey: string;
  readonly displayName: string;
  readonly effectiveAt: string;
  readonly dueAt: string;
  readonly steps: number;
  readonly settled: number;
  readonly overdue: boolean;
}

/**
 * Leavers of the last 30 days whose access is still being removed, oldest
 * first, with the leaver SLA's own due time (src/app/leaver-sla.ts: the same
 * rule the SLA check, `jml leavers` and evidence packs use).
 * @example
 * const open = await leaversInProgress(db, new Date()); // [{ identityKey: 'E1', overdue: true, … }]
 */
export async function leaversInProgress(db: Db, now: Date, targets: LeaverSlaTargets = DEFAULT_LEAVER_SLA): Promise<LeaverInProgress[]> {
  const statuses = (await leaverStatuses(db, now, targets, { since: new Date(now.getTime() - 30 * 86_400_000), limit: 200 })).filter((l) => l.state !== 'complete');
  if (statuses.length === 0) return [];
  const identities = await db.selectFrom('identities').select(['key', 'attributes']).where('key', 'in', [...new Set(statuses.map((l) => l.identityKey))]).execute();
  const attributesOf = new Map(identities.map((i) => [i.key, i.attributes]));
  return statuses
    .map((l) => ({
      identityKey: l.identityKey,
      displayName: displayName({ key: l.identityKey, attributes: attributesOf.get(l.identityKey) ?? {} }),
      effectiveAt: l.effectiveAt,
      dueAt: l.dueAt,
      steps: l.steps.length,
      settled: l.steps.filter((s) => s.state === 'confirmed' || s.state === 'already').length,
      overdue: l.state === 'overdue',
    }))
    .sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt))
    .slice(0, 50);
}

/** Equipment returns (collect_asset tasks) still open, and how many of them are past due. */
export async function assetReturnsOpen(db: Db, now: Date): Promise<{ readonly open: number; readonly overdue: number }> {
  const row = await db.selectFrom('tasks')
    .select((eb) => [eb.fn.countAll<string>().as('open'), eb.fn.count<string>(eb.case().when('due_at', '<', now).then(1).end()).as('overdue')])
    .where('status', '=', 'open').where('kind', '=', 'collect_asset').executeTakeFirstOrThrow();
  return { open: Number(row.open), overdue: Number(row.overdue) };
}
