/**
 * Reads and writes of identities and their timelines. Rows ↔ domain values;
 * no lifecycle decisions here (those are in the engine's timeline fold).
 */
import type { Kysely, Selectable } from 'kysely';
import type { Identity, IdentityKind, IdentityStatus } from '../domain/identity.ts';
import type { LifecycleEvent, LifecycleEventType } from '../domain/lifecycle-event.ts';
import type { TimelineEvent } from '../engine/timeline.ts';
import type { Database, IdentitiesTable, LifecycleEventsTable } from './database.ts';
import { containing } from './like-pattern.ts';

type Db = Kysely<Database>;

export function identityFromRow(row: Selectable<IdentitiesTable>): Identity {
  return {
    key: row.key,
    kind: row.kind as IdentityKind,
    status: row.status as IdentityStatus,
    source: row.source,
    attributes: row.attributes,
    startDate: row.start_date,
    endDate: row.end_date,
    owner: row.owner,
    sponsor: row.sponsor,
  };
}

export function eventFromRow(row: Selectable<LifecycleEventsTable>): LifecycleEvent & { readonly seq: number; readonly importId: string | null } {
  return {
    id: row.id,
    seq: row.seq,
    type: row.type as LifecycleEventType,
    identityKey: row.identity_key,
    source: row.source,
    recordKey: row.record_key,
    effectiveDate: row.effective_date,
    effectiveAt: row.effective_at.toISOString(),
    detectedAt: row.detected_at.toISOString(),
    changes: row.changes,
    state: row.state as LifecycleEvent['state'],
    importId: row.import_id,
  };
}

export async function getIdentity(db: Db, key: string): Promise<Identity | null> {
  const row = await db.selectFrom('identities').selectAll().where('key', '=', key).executeTakeFirst();
  return row ? identityFromRow(row) : null;
}

/** Finds an identity by its own key or by any source record key linked to it. */
export async function findIdentity(db: Db, key: string): Promise<Identity | null> {
  const direct = await getIdentity(db, key);
  if (direct) return direct;
  const link = await db.selectFrom('source_records').select('identity_key').where('record_key', '=', key).executeTakeFirst();
  return link ? getIdentity(db, link.identity_key) : null;
}

export async function timelineOf(db: Db, identityKey: string): Promise<ReturnType<typeof eventFromRow>[]> {
  const rows = await db.selectFrom('lifecycle_events').selectAll().where('identity_key', '=', identityKey).orderBy('effective_at').orderBy('seq').execute();
  return rows.map(eventFromRow);
}

/** Timelines of many identities, grouped by key (non-rescinded and rescinded alike). */
export async function timelinesOf(db: Db, keys: readonly string[]): Promise<Map<string, TimelineEvent[]>> {
  const out = new Map<string, TimelineEvent[]>();
  for (let i = 0; i < keys.length; i += 5000) {
    const rows = await db
      .selectFrom('lifecycle_events')
      .select(['id', 'seq', 'type', 'identity_key', 'effective_at', 'changes', 'state'])
      .where('identity_key', 'in', keys.slice(i, i + 5000))
      .execute();
    for (const r of rows) {
      const list = out.get(r.identity_key) ?? [];
      list.push({ id: r.id, seq: r.seq, type: r.type as LifecycleEventType, effectiveAt: r.effective_at.toISOString(), changes: r.changes, state: r.state as LifecycleEvent['state'] });
      out.set(r.identity_key, list);
    }
  }
  return out;
}

export interface IdentityFilter {
  readonly status?: IdentityStatus;
  readonly kind?: IdentityKind;
  readonly source?: string;
  /** Case-insensitive substring of key, name or email. */
  readonly search?: string;
  readonly limit?: number;
  readonly offset?: number;
}

export async function listIdentities(db: Db, filter: IdentityFilter = {}): Promise<Identity[]> {
  let q = db.selectFrom('identities').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.source) q = q.where('source', '=', filter.source);
  if (filter.search) {
    const like = containing(filter.search);
    q = q.where((eb) =>
      eb.or([
        eb('key', 'ilike', like),
        eb(eb.ref('attributes', '->>').key('email'), 'ilike', like),
        eb(eb.ref('attributes', '->>').key('last_name'), 'ilike', like),
        eb(eb.ref('attributes', '->>').key('first_name'), 'ilike', like),
        eb(eb.ref('attributes', '->>').key('display_name'), 'ilike', like),
      ]),
    );
  }
  const rows = await q.orderBy('key').limit(filter.limit ?? 1000).offset(filter.offset ?? 0).execute();
  return rows.map(identityFromRow);
}

export async function listEvents(db: Db, filter: { readonly identityKey?: string; readonly source?: string; readonly limit?: number } = {}) {
  let q = db.selectFrom('lifecycle_events').selectAll();
  if (filter.identityKey) q = q.where('identity_key', '=', filter.identityKey);
  if (filter.source) q = q.where('source', '=', filter.source);
  const rows = await q.orderBy('seq', 'desc').limit(filter.limit ?? 1000).execute();
  return rows.map(eventFromRow);
}
