/**
 * The lifecycle clock: an identity's stored row is its timeline folded at
 * "now". When scheduled events come due (a future start, a contract end) or a
 * timeline changes (import, rescind), the affected identities are re-folded,
 * their rows and event states updated, and each status change audited.
 */
import { sql, type Kysely } from 'kysely';
import type { Identity } from '../domain/identity.ts';
import { foldTimeline } from '../engine/timeline.ts';
import { appendAudit, type AuditEntryInput } from '../store/audit-log.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database } from '../store/database.ts';
import { storedTimelines } from '../store/identity-store.ts';
import { guardSelfApproval } from './self-approval-guard.ts';

type Db = Kysely<Database>;

export interface RefoldOutcome {
  readonly key: string;
  readonly before: Identity | null;
  readonly after: Identity;
  /** Events that took effect with this fold. */
  readonly nowApplied: readonly string[];
}

/** Keys per query: one array parameter each, so the statement stays small on PGlite's bridge. */
const KEY_CHUNK = 10_000;

/**
 * Re-folds the identities' timelines at `now` and stores the result. Call inside a transaction.
 * Only rows whose fold differs from the stored row are written: a re-import of
 * 100,000 unchanged people reads their timelines but rewrites nothing.
 * `written`: events the caller has just recorded already applied (an import's own, due at once); they take
 * effect with this fold (its outcomes name them) but need no update.
 */
export async function refoldIdentities(db: Db, keys: readonly string[], now: string, written: ReadonlySet<string> = new Set()): Promise<RefoldOutcome[]> {
  if (keys.length === 0) return [];
  const outcomes: RefoldOutcome[] = [];
  const toApply: string[] = [];
  const toSchedule: string[] = [];
  const rows: Identity[] = [];
  // A chunk at a time: the timelines of 100,000 identities are never all in memory.
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const chunk = keys.slice(i, i + KEY_CHUNK);
    const stored = await storedTimelines(db, chunk);
    for (const key of chunk) {
      const events = stored.get(key)?.events ?? [];
      const before = stored.get(key)?.identity ?? null;
      if (events.length === 0 && before) continue;
      const fold = foldTimeline(key, events, now);
      const state = new Map(events.map((e) => [e.id, e.state]));
      const nowApplied = fold.applied.filter((id) => state.get(id) === 'scheduled' || written.has(id));
      toApply.push(...nowApplied.filter((id) => state.get(id) === 'scheduled'));
      toSchedule.push(...fold.scheduled.filter((id) => state.get(id) === 'applied'));
      const after = { ...fold.identity, source: fold.identity.source || before?.source || '' };
      outcomes.push({ key, before, after, nowApplied });
      if (!before || !sameIdentity(before, after)) rows.push(after);
    }
  }
  await bulkInsert(db, 'identities', IDENTITY_COLUMNS, rows, {
    map: identityRow,
    upsert: { conflict: ['key'], update: ['kind', 'status', 'source', 'attributes', 'start_date', 'end_date', 'owner', 'sponsor', 'updated_at'] },
  });
  await setEventState(db, toApply, 'applied');
  await setEventState(db, toSchedule, 'scheduled');
  await guardSelfApproval(db, outcomes, new Date(now));
  return outcomes;
}

/** Same stored fields (attributes compared as a set of defined values, as JSONB stores them). */
function sameIdentity(a: Identity, b: Identity): boolean {
  if (a.kind !== b.kind || a.status !== b.status || a.source !== b.source || a.startDate !== b.startDate || a.endDate !== b.endDate || a.owner !== b.owner || a.sponsor !== b.sponsor) return false;
  return sameStoredValues(a.attributes, b.attributes);
}

/** Equal as stored in JSONB: the same fields with the same values (a field holding `undefined` is absent). */
export function sameStoredValues(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  let count = 0;
  for (const k in a) {
    if (a[k] === undefined) continue;
    if (a[k] !== b[k]) return false;
    count += 1;
  }
  for (const k in b) if (b[k] !== undefined) count -= 1;
  return count === 0;
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

/** An identity as a row of the `identities` table, stamped with the time it is written. */
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
  for (let i = 0; i < ids.length; i += KEY_CHUNK) {
    await db.updateTable('lifecycle_events').set({ state }).where('id', '=', sql<string>`ANY(${ids.slice(i, i + KEY_CHUNK)}::text[])`).execute();
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
  return deps.db.transaction().execute(async (trx) => {
    const outcomes = await foldDueEvents(trx, now.toISOString());
    const events = outcomes.reduce((n, o) => n + o.nowApplied.length, 0);
    await appendAudit(trx, dueEventAuditEntries(outcomes, deps.actor ?? 'scheduler', 'schedule'), now);
    return { events, identities: outcomes };
  });
}

/**
 * Re-folds at `now` every identity that has a scheduled event due by then, so
 * that each one takes effect. Both the clock and every import run this (an
 * import folds at its as-of, for all identities, not only those its file
 * names). Call inside a transaction; the caller audits the outcomes.
 */
export async function foldDueEvents(trx: Db, now: string): Promise<RefoldOutcome[]> {
  const due = await trx
    .selectFrom('lifecycle_events')
    .select(['identity_key'])
    .distinct()
    .where('state', '=', 'scheduled')
    .where('effective_at', '<=', now as unknown as Date)
    .execute();
  return refoldIdentities(trx, due.map((r) => r.identity_key), now);
}

/**
 * Audit entries for a fold that made scheduled events take effect: the status
 * changes, and one `lifecycle.event_effective` per event, except `fresh` ones
 * (events recorded in the same transaction, audited as they were recorded).
 */
export function dueEventAuditEntries(outcomes: readonly RefoldOutcome[], actor: string, trigger: string, fresh: ReadonlySet<string> = new Set()): AuditEntryInput[] {
  const entries = statusAuditEntries(outcomes, actor, trigger);
  for (const o of outcomes) {
    for (const id of o.nowApplied) if (!fresh.has(id)) entries.push({ actor, action: 'lifecycle.event_effective', subject: o.key, trigger, details: { event: id } });
  }
  return entries;
}
