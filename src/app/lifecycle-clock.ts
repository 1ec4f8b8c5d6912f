/**
 * The lifecycle clock: an identity's stored row is its timeline folded at
 * "now". When scheduled events come due (a future start, a contract end) or a
 * timeline changes (import, rescind), the affected identities are re-folded,
 * their rows and event states updated, and each status change audited.
 */
import type { Kysely } from 'kysely';
import type { Identity } from '../domain/identity.ts';
import { foldTimeline } from '../engine/timeline.ts';
import { appendAudit, type AuditEntryInput } from '../store/audit-log.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database } from '../store/database.ts';
import { identityFromRow, timelinesOf } from '../store/identity-store.ts';

type Db = Kysely<Database>;

export interface RefoldOutcome {
  readonly key: string;
  readonly before: Identity | null;
  readonly after: Identity;
  /** Events that took effect with this fold. */
  readonly nowApplied: readonly string[];
}

/** Re-folds the identities' timelines at `now` and stores the result. Call inside a transaction. */
export async function refoldIdentities(db: Db, keys: readonly string[], now: string): Promise<RefoldOutcome[]> {
  if (keys.length === 0) return [];
  const timelines = await timelinesOf(db, keys);
  const beforeRows = new Map<string, Identity>();
  for (let i = 0; i < keys.length; i += 5000) {
    for (const row of await db.selectFrom('identities').selectAll().where('key', 'in', keys.slice(i, i + 5000)).execute()) {
      beforeRows.set(row.key, identityFromRow(row));
    }
  }
  const outcomes: RefoldOutcome[] = [];
  const toApply: string[] = [];
  const toSchedule: string[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const key of keys) {
    const events = timelines.get(key) ?? [];
    const before = beforeRows.get(key) ?? null;
    if (events.length === 0 && before) continue;
    const fold = foldTimeline(key, events, now);
    const state = new Map(events.map((e) => [e.id, e.state]));
    const nowApplied = fold.applied.filter((id) => state.get(id) === 'scheduled');
    toApply.push(...nowApplied);
    toSchedule.push(...fold.scheduled.filter((id) => state.get(id) === 'applied'));
    const after = { ...fold.identity, source: fold.identity.source || before?.source || '' };
    outcomes.push({ key, before, after, nowApplied });
    rows.push(identityRow(after));
  }
  await bulkInsert(db, 'identities', IDENTITY_COLUMNS, rows, {
    upsert: { conflict: ['key'], update: ['kind', 'status', 'source', 'attributes', 'start_date', 'end_date', 'owner', 'sponsor', 'updated_at'] },
  });
  await setEventState(db, toApply, 'applied');
  await setEventState(db, toSchedule, 'scheduled');
  return outcomes;
}

export const IDENTITY_COLUMNS = {
  key: 'text',
  kind: 'text',
  status: 'text',
  source: 'text',
  attributes: 'jsonb',
  start_date: 'date',
  end_date: 'date',
  owner: 'text',
  sponsor: 'text',
  updated_at: 'timestamptz',
} as const;

export function identityRow(identity: Identity): Record<string, unknown> {
  return {
    key: identity.key,
    kind: identity.kind,
    status: identity.status,
    source: identity.source,
    attributes: identity.attributes,
    start_date: identity.startDate,
    end_date: identity.endDate,
    owner: identity.owner,
    sponsor: identity.sponsor,
    updated_at: new Date().toISOString(),
  };
}

async function setEventState(db: Db, ids: readonly string[], state: 'applied' | 'scheduled' | 'rescinded'): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) {
    await db.updateTable('lifecycle_events').set({ state }).where('id', 'in', ids.slice(i, i + 5000)).execute();
  }
}

/** Audit entries for the status changes and newly effective events of a fold. */
export function statusAuditEntries(outcomes: readonly RefoldOutcome[], actor: string, trigger: string): AuditEntryInput[] {
  const entries: AuditEntryInput[] = [];
  for (const o of outcomes) {
    if (o.before && o.before.status !== o.after.status) {
      entries.push({
        actor,
        action: 'identity.status_changed',
        subject: o.key,
        trigger,
        before: { status: o.before.status },
        after: { status: o.after.status },
        details: { events: o.nowApplied },
      });
    }
  }
  return entries;
}

export interface ClockDeps {
  readonly db: Db;
  readonly actor?: string;
}

/**
 * Applies every scheduled lifecycle event whose effective time is at or before
 * `now`: future starts become active, contract ends become leavers. Idempotent.
 */
export async function applyDueEvents(deps: ClockDeps, now: Date): Promise<{ readonly events: number; readonly identities: readonly RefoldOutcome[] }> {
  const nowIso = now.toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('lifecycle_events')
      .select(['identity_key'])
      .distinct()
      .where('state', '=', 'scheduled')
      .where('effective_at', '<=', nowIso as unknown as Date)
      .execute();
    const keys = due.map((r) => r.identity_key);
    const outcomes = await refoldIdentities(trx, keys, nowIso);
    const events = outcomes.reduce((n, o) => n + o.nowApplied.length, 0);
    const entries = statusAuditEntries(outcomes, deps.actor ?? 'scheduler', 'schedule');
    for (const o of outcomes) {
      for (const id of o.nowApplied) entries.push({ actor: deps.actor ?? 'scheduler', action: 'lifecycle.event_effective', subject: o.key, trigger: 'schedule', details: { event: id } });
    }
    await appendAudit(trx, entries, now);
    return { events, identities: outcomes };
  });
}
