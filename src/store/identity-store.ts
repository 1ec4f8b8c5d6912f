/**
 * Reads and writes of identities and their timelines. Rows ↔ domain values;
 * no lifecycle decisions here (those are in the engine's timeline fold).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Identity, IdentityKind, IdentityStatus } from '../domain/identity.ts';
import type { LifecycleEvent, LifecycleEventType } from '../domain/lifecycle-event.ts';
import type { TimelineEvent } from '../engine/timeline.ts';
import type { Database, IdentitiesTable, LifecycleEventsTable } from './database.ts';
import { containing } from './like-pattern.ts';

type Db = Kysely<Database>;

/** The columns an Identity is made of (not the row's bookkeeping times: 200,000 Dates parsed for nothing in a plan of 100,000). */
export const IDENTITY_COLUMNS = ['key', 'kind', 'status', 'source', 'attributes', 'start_date', 'end_date', 'owner', 'sponsor'] as const;

/** An identities row (at least its IDENTITY_COLUMNS) as the domain's Identity. */
export function identityFromRow(row: Pick<Selectable<IdentitiesTable>, (typeof IDENTITY_COLUMNS)[number]>): Identity {
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

/** An identity's stored row (null when it has none yet) and its whole timeline, as the lifecycle fold reads them. */
export interface StoredTimeline {
  readonly identity: Identity | null;
  /** Every event (rescinded ones included), in timeline order; instants as ISO text (no Date per event). */
  readonly events: TimelineEvent[];
}

/** Keys per statement: one array parameter each, so the statement stays small on PGlite's bridge. */
const TIMELINE_CHUNK = 10_000;

/**
 * The stored rows and timelines of many identities, by key, in one statement per 10,000 keys: the one read
 * every re-fold (lifecycle-clock.ts) and every import's view of identities due at its as-of (import-state.ts)
 * make. A key with neither a row nor an event is absent.
 * @example const { identity, events } = (await storedTimelines(db, ['E1'])).get('E1')!
 */
export async function storedTimelines(db: Db, keys: readonly string[]): Promise<Map<string, StoredTimeline>> {
  const out = new Map<string, StoredTimeline>();
  for (let i = 0; i < keys.length; i += TIMELINE_CHUNK) {
    const { rows } = await sql<{ key: string; identity: Omit<Selectable<IdentitiesTable>, 'key' | 'updated_at'> | null; events: TimelineEvent[] | null }>`
      SELECT k.key,
        (SELECT row_to_json(i) FROM (SELECT kind, status, source, attributes, start_date, end_date, owner, sponsor FROM identities WHERE key = k.key) i) AS identity,
        (SELECT json_agg(e ORDER BY e.at, e.seq) FROM (
          SELECT id, seq, type, effective_at AS at, to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "effectiveAt", changes, state
          FROM lifecycle_events WHERE identity_key = k.key) e) AS events
      FROM unnest(${[...keys.slice(i, i + TIMELINE_CHUNK)]}::text[]) AS k(key)`.execute(db);
    for (const r of rows) {
      if (r.identity === null && r.events === null) continue;
      const events = (r.events ?? []).map((e) => ({ id: e.id, seq: e.seq, type: e.type, effectiveAt: e.effectiveAt, changes: e.changes, state: e.state }));
      out.set(r.key, { identity: r.identity === null ? null : identityFromRow({ ...r.identity, key: r.key } as Selectable<IdentitiesTable>), events });
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
