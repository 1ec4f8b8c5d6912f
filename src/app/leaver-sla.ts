/**
 * The leaver SLA. Each leaver's clock runs from the event's effective time.
 * A leaver is complete only when every step planned for it since then — and
 * every equipment return planned ahead of it, once the leave date was known —
 * has been confirmed by read-back (state `confirmed` or `already`). A return
 * planned ahead is due when the last day worked ends (the effective time). Steps in
 * connected systems are due within `connectedMs`, manual tasks within
 * `manualMs`; a leaver past either with steps unconfirmed is overdue, which
 * raises a finding and an alert once. A leaver with no step planned is
 * complete if they hold nothing jml can see (no linked account, no asset, no
 * change still to run for them) — a hire withdrawn before the first day —
 * and overdue after `connectedMs` otherwise.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import { raiseFinding, resolveFinding, type AlertSink } from './alert.ts';
import { latestRuns } from './observed-snapshot.ts';
import { SATISFIED, type ChangeState } from './plan-record-store.ts';

export interface LeaverSlaTargets {
  readonly connectedMs: number;
  readonly manualMs: number;
}

export const DEFAULT_LEAVER_SLA: LeaverSlaTargets = { connectedMs: 3_600_000, manualMs: 24 * 3_600_000 };

export interface LeaverStep {
  readonly planId: string;
  readonly changeId: string;
  readonly kind: string;
  readonly system: string | null;
  readonly state: ChangeState;
  readonly manual: boolean;
  readonly dueAt: string;
  readonly confirmedAt: string | null;
  /** The task a person carries out for this step (a system without a connector), or null. */
  readonly taskId: string | null;
  readonly overdue: boolean;
  /** When the step's plan was computed, and submitted to the job queue. */
  readonly plannedAt: string;
  readonly queuedAt: string;
  /** When a worker first took the step up, and when its connector call returned (before the read-back); null until then. */
  readonly startedAt: string | null;
  readonly actedAt: string | null;
  /** From the leaver's detection (the import that brought it) to this step's confirmation; null until confirmed. */
  readonly latencyMs: number | null;
}

export interface LeaverStatus {
  readonly eventId: string;
  readonly identityKey: string;
  readonly effectiveAt: string;
  /** When jml learnt of the leaver: the start of the import that brought the event (its detection time otherwise). */
  readonly detectedAt: string;
  /** The import that brought the leaver event; null for events from elsewhere (an edit in jml, a scheduled event). */
  readonly importId: string | null;
  readonly state: 'complete' | 'in_progress' | 'overdue';
  readonly dueAt: string;
  /** Time from the effective time to the last confirmation (complete) or to now. */
  readonly elapsedMs: number;
  /** From detection to the last step's confirmation: how long access outlived the HR record in jml; null until complete. */
  readonly latencyMs: number | null;
  readonly steps: readonly LeaverStep[];
}

/** Each leaver's steps, state and clock; `since` bounds how far back leavers are read, `limit` how many (default 1000, newest first). */
export async function leaverStatuses(db: Kysely<Database>, now: Date, targets: LeaverSlaTargets = DEFAULT_LEAVER_SLA, options: { readonly identityKey?: string; readonly since?: Date; readonly limit?: number } = {}): Promise<LeaverStatus[]> {
  let events = db
    .selectFrom('lifecycle_events as e')
    .leftJoin('imports as i', 'i.id', 'e.import_id')
    .select(['e.id', 'e.identity_key', 'e.effective_at', 'e.detected_at', 'e.import_id', 'i.started_at as import_started_at'])
    .where('e.type', '=', 'leaver')
    .where('e.state', '!=', 'rescinded')
    .where('e.effective_at', '<=', now)
    .orderBy('e.effective_at', 'desc')
    .orderBy('e.identity_key');
  if (options.identityKey) events = events.where('e.identity_key', '=', options.identityKey);
  if (options.since) events = events.where('e.effective_at', '>=', options.since);
  const leavers = await events.limit(options.limit ?? 1000).execute();
  if (leavers.length === 0) return [];
  const keys = [...new Set(leavers.map((l) => l.identity_key))];
  const detectedAt = (l: (typeof leavers)[number]) => Math.min((l.import_started_at ?? l.detected_at).getTime(), l.effective_at.getTime());
  // From the earliest detection: returns of an upcoming leaver are planned before the last day worked.
  const oldest = new Date(Math.min(...leavers.map(detectedAt)));
  const changes = await db
    .selectFrom('plan_changes as pc')
    .innerJoin('plans as p', 'p.id', 'pc.plan_id')
    .select(['pc.plan_id', 'pc.change_id', 'pc.kind', 'pc.system', 'pc.state', 'pc.task_id', 'pc.started_at', 'pc.acted_at', 'pc.finished_at', 'pc.identity_key', 'p.computed_at', 'p.created_at'])
    .where('pc.identity_key', 'in', keys)
    .where('p.created_at', '>=', oldest)
    .orderBy('p.created_at')
    .orderBy('pc.position')
    .execute();
  const holding = await holdersAmong(db, keys);
  return leavers.map((leaver) => {
    const effective = leaver.effective_at.getTime();
    const detected = (leaver.import_started_at ?? leaver.detected_at).getTime();
    const known = detectedAt(leaver);
    // A return planned once the leave date was known, before the last day worked, is due when that day ends.
    const ahead = (c: (typeof changes)[number]) => c.kind === 'collect_asset' && c.created_at.getTime() < effective;
    const steps: LeaverStep[] = changes
      .filter((c) => c.identity_key === leaver.identity_key && (c.created_at.getTime() >= effective || (ahead(c) && c.created_at.getTime() >= known)))
      .map((c) => {
        const manual = c.task_id !== null || c.kind === 'manual_task';
        const state = c.state as ChangeState;
        const due = ahead(c) ? effective : effective + (manual ? targets.manualMs : targets.connectedMs);
        const satisfied = SATISFIED.includes(state);
        const confirmedAt = satisfied && c.finished_at ? c.finished_at : null;
        return {
          planId: c.plan_id,
          changeId: c.change_id,
          kind: c.kind,
          system: c.system,
          state,
          manual,
          dueAt: new Date(due).toISOString(),
          confirmedAt: confirmedAt?.toISOString() ?? null,
          taskId: c.task_id,
          overdue: !satisfied && now.getTime() > due,
          plannedAt: new Date(c.computed_at).toISOString(),
          queuedAt: c.created_at.toISOString(),
          startedAt: c.started_at?.toISOString() ?? null,
          actedAt: c.acted_at?.toISOString() ?? null,
          latencyMs: confirmedAt ? confirmedAt.getTime() - detected : null,
        };
      });
    // With no step planned, a leaver is complete when there is nothing to take away (never provisioned anywhere jml
    // sees, no asset held, nothing still to run), and overdue after the connected-system target when there is.
    const complete = steps.length > 0 ? steps.every((s) => s.confirmedAt !== null || SATISFIED.includes(s.state)) : !holding.has(leaver.identity_key);
    const dueAt = effective + (steps.some((s) => s.manual) ? targets.manualMs : targets.connectedMs);
    const overdue = !complete && (steps.some((s) => s.overdue) || (steps.length === 0 && now.getTime() > effective + targets.connectedMs));
    const finished = complete ? Math.max(effective, ...steps.map((s) => (s.confirmedAt ? Date.parse(s.confirmedAt) : effective))) : now.getTime();
    return {
      eventId: leaver.id,
      identityKey: leaver.identity_key,
      effectiveAt: leaver.effective_at.toISOString(),
      detectedAt: new Date(detected).toISOString(),
      importId: leaver.import_id,
      state: complete ? 'complete' : overdue ? 'overdue' : 'in_progress',
      dueAt: new Date(dueAt).toISOString(),
      elapsedMs: finished - effective,
      latencyMs: complete && steps.length > 0 ? Math.max(...steps.map((s) => s.latencyMs ?? 0)) : null,
      steps,
    };
  });
}

/**
 * The identities among `keys` that hold something jml can see: an account
 * linked to them in a system's latest snapshot (reconcile or apply), an asset,
 * or a change of any plan not carried out yet (it may still create an account).
 */
async function holdersAmong(db: Kysely<Database>, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const runs = [...(await latestRuns(db)).values()].map((r) => r.runId);
  const [accounts, assets, unfinished] = await Promise.all([
    runs.length === 0 ? [] : db.selectFrom('observed_accounts').select('identity_key').distinct().where('run_id', 'in', runs).where('identity_key', 'in', keys).execute(),
    db.selectFrom('assets').select('holder_key as identity_key').distinct().where('holder_key', 'in', keys).execute(),
    db.selectFrom('plan_changes').select('identity_key').distinct().where('identity_key', 'in', keys).where('state', 'not in', SATISFIED).execute(),
  ]);
  return new Set([...accounts, ...assets, ...unfinished].map((r) => r.identity_key!));
}

/**
 * Records each leaver's case, closes the complete ones, and raises an
 * `overdue_leaver` finding (with an alert) for each newly overdue one.
 */
export async function checkLeaverSla(db: Kysely<Database>, now: Date, targets: LeaverSlaTargets = DEFAULT_LEAVER_SLA, sink?: AlertSink): Promise<{ readonly open: number; readonly overdue: number; readonly completed: number }> {
  const cases = new Map((await db.selectFrom('leaver_cases').selectAll().execute()).map((c) => [c.event_id, c]));
  // Leavers older than 30 days whose case is closed need no more looking at.
  const statuses = await leaverStatuses(db, now, targets, { since: new Date(now.getTime() - 30 * 86_400_000) });
  let overdue = 0;
  let completed = 0;
  let open = 0;
  for (const status of statuses) {
    const existing = cases.get(status.eventId);
    if (existing?.state === 'complete') continue;
    if (!existing) {
      await db.insertInto('leaver_cases').values({ event_id: status.eventId, identity_key: status.identityKey, effective_at: status.effectiveAt, state: 'open' }).onConflict((oc) => oc.column('event_id').doNothing()).execute();
    }
    if (status.state === 'complete') {
      completed++;
      await db.updateTable('leaver_cases').set({ state: 'complete', completed_at: new Date(Date.parse(status.effectiveAt) + status.elapsedMs).toISOString() }).where('event_id', '=', status.eventId).execute();
      await resolveFinding(db, 'overdue_leaver', status.eventId, now);
      continue;
    }
    open++;
    if (status.state === 'overdue') {
      overdue++;
      if (!existing?.overdue_at) {
        await db.updateTable('leaver_cases').set({ overdue_at: now.toISOString() }).where('event_id', '=', status.eventId).execute();
        const pending = status.steps.filter((s) => s.overdue).map((s) => `${s.kind}${s.system ? ` in ${s.system}` : ''} (${s.state})`);
        await raiseFinding(db, { kind: 'overdue_leaver', subject: status.eventId, identityKey: status.identityKey, detail: `leaver ${status.identityKey} effective ${status.effectiveAt} is overdue: ${pending.join(', ') || 'no step has been planned'}` }, now, sink);
      }
    }
  }
  return { open, overdue, completed };
}

/** Leavers outside a `jml leavers` window: effective before `since`, or scheduled after `now`. */
export interface LeaversOutside {
  readonly earlier: number;
  readonly scheduled: number;
}

/**
 * Counts the leavers (not rescinded) a listing from `since` to `now` leaves
 * out, so that it can say so instead of looking empty.
 */
export async function leaversOutside(db: Kysely<Database>, now: Date, since: Date, identityKey?: string): Promise<LeaversOutside> {
  let q = db
    .selectFrom('lifecycle_events')
    .select((eb) => [
      eb.fn.countAll<string>().filterWhere('effective_at', '<', since).as('earlier'),
      eb.fn.countAll<string>().filterWhere('effective_at', '>', now).as('scheduled'),
    ])
    .where('type', '=', 'leaver')
    .where('state', '!=', 'rescinded');
  if (identityKey) q = q.where('identity_key', '=', identityKey);
  const row = await q.executeTakeFirstOrThrow();
  return { earlier: Number(row.earlier), scheduled: Number(row.scheduled) };
}
