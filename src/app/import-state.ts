/**
 * What an import compares its file with: the source's records as last seen,
 * every identity as it stands at the import's as-of (scheduled events due by
 * then folded in, as the write will fold them), and the events due at the
 * as-of, which take effect with the import.
 */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { IdentityKind, IdentityStatus } from '../domain/identity.ts';
import type { LifecycleEventType } from '../domain/lifecycle-event.ts';
import { foldTimeline } from '../engine/timeline.ts';
import { createMemoryDirectory } from '../sources/reference-resolver.ts';
import type { IdentityDirectory, SourceSnapshot } from '../sources/source-record.ts';
import type { KnownIdentity, PreviousRecord, RecordData, ScheduledEventRef } from '../sources/snapshot-diff.ts';
import type { Database } from '../store/database.ts';
import { storedTimelines } from '../store/identity-store.ts';

type Db = Kysely<Database>;

/** A lifecycle event recorded by an earlier import (or jml) that takes effect at this import's as-of. */
export interface EffectiveEvent {
  /** The lifecycle event's id. */
  readonly event: string;
  readonly type: LifecycleEventType;
  readonly identity: string;
  readonly effective: string;
}

/** The state an import diffs against; see `loadState`. */
export interface LoadedState {
  readonly previous: Map<string, PreviousRecord>;
  readonly identities: Map<string, LoadedIdentity>;
  readonly correlation: Map<string, string>;
  /** Scheduled events due at the evaluation instant, in the order they are reported. */
  readonly due: readonly EffectiveEvent[];
  /**
   * A scoped load only (made in the write's transaction): identities with an event crossing the evaluation
   * instant, scheduled but due or applied but not yet due (see writeImport's WriteInput.crossing).
   */
  readonly crossing?: ReadonlySet<string>;
  /** For reading the file only; dropped afterwards (it holds a row per identity). */
  directory: IdentityDirectory;
}

/**
 * A known identity as the diff sees it. Its fields as record data are needed
 * only for a conversion or a rehire, so the attributes of 100,000 identities are
 * not loaded for every import: `attachIdentityData` loads them for exactly the
 * identities the diff may compare against (see there).
 */
interface IdentityFields {
  readonly startDate: string | null;
  readonly endDate: string | null;
  readonly owner: string | null;
  readonly sponsor: string | null;
}

class LoadedIdentity implements KnownIdentity {
  readonly key: string;
  readonly status: IdentityStatus;
  readonly source: string;
  readonly kind: IdentityKind;
  readonly leftOn: string | null;
  readonly scheduled: readonly ScheduledEventRef[];
  readonly #fields: IdentityFields;
  #data: RecordData | null = null;

  constructor(identity: Omit<KnownIdentity, 'data'>, fields: IdentityFields) {
    this.key = identity.key;
    this.status = identity.status;
    this.source = identity.source;
    this.kind = identity.kind;
    this.leftOn = identity.leftOn;
    this.scheduled = identity.scheduled;
    this.#fields = fields;
  }

  get data(): RecordData {
    if (this.#data === null) throw new JmlError('internal', `identity ${this.key}: its attributes were not loaded for the diff`);
    return this.#data;
  }

  attach(attributes: Readonly<Record<string, string | null>>): void {
    const f = this.#fields;
    this.#data = { ...attributes, kind: this.kind, source: this.source, start_date: f.startDate, end_date: f.endDate, owner: f.owner, sponsor: f.sponsor };
  }
}

/**
 * Loads what the diff of `source` needs: its records, every identity (status
 * and leaving date at `evaluatedAt`), correlation values, and the scheduled
 * events due at `evaluatedAt`.
 */
export async function loadState(db: Db, source: string, evaluatedAt: string, correlationAttribute: string, scope?: StateScope): Promise<LoadedState> {
  if (scope) return loadScopedState(db, source, evaluatedAt, correlationAttribute, scope);
  // Records and identities come a page at a time: one 100,000-row result would
  // grow PGlite's memory (which never shrinks) by its whole size.
  const [records, identityRows, scheduled, lefts] = await Promise.all([
    paged((after) =>
      db
        .selectFrom('source_records')
        .select(['record_key', 'identity_key', 'data', 'present'])
        .where('source', '=', source)
        .$if(after !== null, (q) => q.where('record_key', '>', after!))
        .orderBy('record_key')
        .limit(PAGE)
        .execute(),
      (r) => r.record_key,
    ),
    paged((after) =>
      db
        .selectFrom('identities')
        .select(identityStateColumns(correlationAttribute))
        .$if(after !== null, (q) => q.where('key', '>', after!))
        .orderBy('key')
        .limit(PAGE)
        .execute(),
      (r) => r.key,
    ),
    db.selectFrom('lifecycle_events').select(['id', 'type', 'identity_key', 'effective_date', 'effective_at']).where('state', '=', 'scheduled').orderBy('effective_at').orderBy('seq').execute(),
    db.selectFrom('lifecycle_events').select(['id', 'identity_key', 'effective_date']).where('state', '=', 'applied').where('type', '=', 'leaver').orderBy('effective_at').execute(),
  ]);
  return assembleState(db, records, identityRows, scheduled, lefts, evaluatedAt);
}

/** The identity columns an import's state reads, with the correlation attribute and the names it matches people by. */
function identityStateColumns(correlationAttribute: string) {
  return (eb: ExpressionBuilder<Database, 'identities'>) => [
    'key', 'kind', 'status', 'source', 'start_date', 'end_date', 'owner', 'sponsor',
    eb.ref('attributes', '->>').key(correlationAttribute).as('correlation'),
    eb.ref('attributes', '->>').key('email').as('email'),
    eb.ref('attributes', '->>').key('first_name').as('first_name'),
    eb.ref('attributes', '->>').key('last_name').as('last_name'),
    eb.ref('attributes', '->>').key('display_name').as('display_name'),
  ] as const;
}

type RecordRow = { record_key: string; identity_key: string; data: unknown; present: boolean };
type IdentityRow = {
  key: string; kind: string; status: string; source: string; start_date: string | null; end_date: string | null; owner: string | null; sponsor: string | null;
  correlation: string | null; email: string | null; first_name: string | null; last_name: string | null; display_name: string | null;
};
type ScheduledRow = { id: string; type: string; identity_key: string; effective_date: string; effective_at: Date };
type LeftRow = { id: string; identity_key: string; effective_date: string };

/**
 * What a push of a few records (an inbound SCIM request) must see instead of
 * the whole source: those records, and the identities they can reach — their
 * own, the ones their correlation values or references name — with their
 * events, plus every event due at the evaluation instant (the write folds those
 * for everyone, as an import does).
 */
export interface StateScope {
  readonly recordKeys: readonly string[];
  /** Values that may name an identity by key or email: references (manager, sponsor, owner). */
  readonly references: readonly string[];
  /** Correlation values of the pushed records. */
  readonly correlationValues: readonly string[];
}

/**
 * One statement: the records, the identities they reach (through their records, keys, references and
 * correlation values) and those identities' scheduled events and applied leavers, plus every event crossing
 * the evaluation instant (scheduled but due, applied but not yet due) — a push's whole state in one round trip.
 * Sub-selects are turned into arrays (ARRAY(SELECT …)) so each lookup stays an index scan.
 */
async function loadScopedState(db: Db, source: string, evaluatedAt: string, correlationAttribute: string, scope: StateScope): Promise<LoadedState> {
  return scopedStateOf(db, await scopedStateQuery(db, source, evaluatedAt, correlationAttribute, scope).executeTakeFirstOrThrow(), evaluatedAt);
}

/** What the statement of a scoped state answers: one row of JSON arrays (see scopedStateQuery). */
export interface ScopedStateRow {
  readonly records: RecordRow[] | null;
  readonly identities: IdentityRow[] | null;
  readonly events: (Omit<ScheduledRow, 'effective_at'> & { effective_at: string; state: string; seq: number })[] | null;
}

/**
 * The statement of `loadState` with a scope, unsent: a push sends it together with its own read (as a
 * sub-select of one statement, so its whole state costs one round trip) and hands the row to scopedStateOf.
 */
export function scopedStateQuery(db: Db, source: string, evaluatedAt: string, correlationAttribute: string, scope: StateScope) {
  const keys = [...new Set([...scope.recordKeys, ...scope.recordKeys.map((k) => `${source}:${k}`), ...scope.references])];
  const lowered = [...new Set([...scope.correlationValues, ...scope.references].map((v) => v.toLowerCase()))];
  const at = evaluatedAt as unknown as Date;
  const eventColumns = ['id', 'type', 'identity_key', 'effective_date', 'effective_at', 'seq', 'state'] as const;
  return db
    .with('rec', (q) =>
      q.selectFrom('source_records').select(['record_key', 'identity_key', 'data', 'present']).where('source', '=', source).where('record_key', '=', sql<string>`ANY(${[...scope.recordKeys]}::text[])`),
    )
    .with('ids', (q) =>
      q
        .selectFrom('identities')
        .select(identityStateColumns(correlationAttribute))
        // One ANY over the primary key: an OR of the key and email lookups let the planner scan the whole table
        // (seen on a freshly filled table, where it took most of a push's time under the source's lock).
        // By email, the index on lower(attributes->>'email') answers; another correlation attribute is looked up without one.
        .where('key', '=', sql<string>`ANY(${keys}::text[] || ARRAY(SELECT identity_key FROM rec) || ARRAY(${q
          .selectFrom('identities')
          .select('key')
          .where((eb) =>
            eb.or([
              eb(sql`lower(attributes->>'email')`, '=', sql<string>`ANY(${lowered}::text[])`),
              ...(correlationAttribute === 'email' ? [] : [eb(sql`lower(attributes->>${correlationAttribute})`, '=', sql<string>`ANY(${lowered}::text[])`)]),
            ]),
          )}))`),
    )
    .with('ev', (q) =>
      q
        .selectFrom('lifecycle_events')
        .select(eventColumns)
        .where('identity_key', '=', sql<string>`ANY(ARRAY(SELECT key FROM ids))`)
        .where((eb) => eb.or([eb('state', '=', 'scheduled'), eb.and([eb('state', '=', 'applied'), eb('type', '=', 'leaver')])]))
        .union(q.selectFrom('lifecycle_events').select(eventColumns).where('state', '=', 'scheduled').where('effective_at', '<=', at))
        .union(q.selectFrom('lifecycle_events').select(eventColumns).where('state', '=', 'applied').where('effective_at', '>', at)),
    )
    .selectNoFrom([
      sql<ScopedStateRow['records']>`(SELECT json_agg(rec) FROM rec)`.as('records'),
      sql<ScopedStateRow['identities']>`(SELECT json_agg(ids) FROM ids)`.as('identities'),
      sql<ScopedStateRow['events']>`(SELECT json_agg(ev ORDER BY ev.effective_at, ev.seq) FROM ev)`.as('events'),
    ]);
}

/** The state a scoped statement's row describes (see scopedStateQuery). */
export async function scopedStateOf(db: Db, loaded: ScopedStateRow, evaluatedAt: string): Promise<LoadedState> {
  const identityRows = loaded.identities ?? [];
  const reached = new Set(identityRows.map((r) => r.key));
  const events = (loaded.events ?? []).map((e) => ({ ...e, effective_at: new Date(e.effective_at) }));
  const due = (e: { effective_at: Date }) => e.effective_at.getTime() <= Date.parse(evaluatedAt);
  const crossing = new Set(events.filter((e) => (e.state === 'scheduled' ? due(e) : !due(e))).map((e) => e.identity_key));
  const scheduled = events.filter((e) => e.state === 'scheduled' && (reached.has(e.identity_key) || due(e)));
  const lefts = events.filter((e) => e.state === 'applied' && e.type === 'leaver' && reached.has(e.identity_key));
  return { ...(await assembleState(db, loaded.records ?? [], identityRows, scheduled, lefts, evaluatedAt)), crossing };
}

async function assembleState(db: Db, records: readonly RecordRow[], identityRows: readonly IdentityRow[], scheduled: readonly ScheduledRow[], lefts: readonly LeftRow[], evaluatedAt: string): Promise<LoadedState> {
  const previous = new Map<string, PreviousRecord>();
  for (const r of records) previous.set(r.record_key, { identityKey: r.identity_key, data: r.data as RecordData, present: r.present });
  const scheduledBy = new Map<string, KnownIdentity['scheduled'][number][]>();
  const due: EffectiveEvent[] = [];
  for (const e of scheduled) {
    const list = scheduledBy.get(e.identity_key) ?? [];
    list.push({ id: e.id, type: e.type as LifecycleEventType, effectiveDate: e.effective_date });
    scheduledBy.set(e.identity_key, list);
    if (e.effective_at.toISOString() <= evaluatedAt) due.push({ event: e.id, type: e.type as LifecycleEventType, identity: e.identity_key, effective: e.effective_date });
  }
  due.sort((a, b) => compareText(a.effective, b.effective) || compareText(a.identity, b.identity) || compareText(a.event, b.event));
  const leftOn = new Map(lefts.map((l) => [l.identity_key, l.effective_date]));
  const leaverDates = new Map([...lefts.map((l) => [l.id, l.effective_date] as const), ...scheduled.filter((e) => e.type === 'leaver').map((e) => [e.id, e.effective_date] as const)]);
  const atAsOf = await foldedAt(db, [...new Set(due.map((e) => e.identity))], evaluatedAt, leaverDates);
  const identities = new Map<string, LoadedIdentity>();
  const correlation = new Map<string, string>();
  for (const row of identityRows) {
    const status = row.status as IdentityStatus;
    identities.set(
      row.key,
      new LoadedIdentity(
        {
          key: row.key,
          status: atAsOf.get(row.key)?.status ?? status,
          source: row.source,
          kind: row.kind as IdentityKind,
          leftOn: atAsOf.has(row.key) ? atAsOf.get(row.key)!.leftOn : (leftOn.get(row.key) ?? null),
          scheduled: scheduledBy.get(row.key) ?? [],
        },
        { startDate: row.start_date, endDate: row.end_date, owner: row.owner, sponsor: row.sponsor },
      ),
    );
    if (row.correlation) correlation.set(row.correlation.toLowerCase(), row.key);
  }
  return { previous, identities, correlation, due, directory: lazyDirectory(identityRows) };
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Status and leaving date, at the evaluation instant, of identities with due
 * scheduled events: their timelines folded exactly as the write (and the clock)
 * will fold them, so the diff sees the identity the import leaves behind.
 */
async function foldedAt(db: Db, keys: readonly string[], evaluatedAt: string, leaverDates: ReadonlyMap<string, string>): Promise<Map<string, { status: IdentityStatus; leftOn: string | null }>> {
  const out = new Map<string, { status: IdentityStatus; leftOn: string | null }>();
  if (keys.length === 0) return out;
  const timelines = await storedTimelines(db, keys);
  for (const key of keys) {
    const fold = foldTimeline(key, timelines.get(key)?.events ?? [], evaluatedAt);
    const lastLeaver = fold.applied.findLast((id) => leaverDates.has(id));
    out.set(key, { status: fold.identity.status, leftOn: lastLeaver === undefined ? null : leaverDates.get(lastLeaver)! });
  }
  return out;
}

const PAGE = 20_000;

/** All rows of a keyset-paged query: `page(after)` returns the rows after that key, in key order. */
async function paged<R>(page: (after: string | null) => Promise<R[]>, keyOf: (row: R) => string): Promise<R[]> {
  const all: R[] = [];
  let after: string | null = null;
  for (;;) {
    const rows = await page(after);
    for (const row of rows) all.push(row);
    if (rows.length < PAGE) return all;
    after = keyOf(rows[rows.length - 1]!);
  }
}

/** The existing identities for references the file itself cannot resolve; indexed on first use (most files name only their own people). */
function lazyDirectory(rows: readonly { key: string; email: string | null; first_name: string | null; last_name: string | null; display_name: string | null }[]): IdentityDirectory {
  let built: IdentityDirectory | null = null;
  const directory = () =>
    (built ??= createMemoryDirectory(rows.map((r) => ({ key: r.key, attributes: { email: r.email, first_name: r.first_name, last_name: r.last_name, display_name: r.display_name } }))));
  return {
    byKey: (key) => directory().byKey(key),
    byEmail: (email) => directory().byEmail(email),
    byName: (last, first) => directory().byName(last, first),
    byFullName: (text) => directory().byFullName(text),
    byDisplayName: (text) => directory().byDisplayName(text),
  };
}

/**
 * Loads the attributes of the identities the diff may compare a record with:
 * the live or left identity a new key correlates with (conversion, rehire), and
 * a left identity whose record is back in the file (rehire). No other path of
 * the diff reads an identity's data.
 */
export async function attachIdentityData(db: Db, state: LoadedState, snapshot: SourceSnapshot, correlationAttribute: string): Promise<void> {
  const wanted = new Set<string>();
  for (const record of snapshot.records) {
    const prev = state.previous.get(record.key);
    if (prev) {
      if (state.identities.get(prev.identityKey)?.status === 'left') wanted.add(prev.identityKey);
      continue;
    }
    const value = record.attributes[correlationAttribute];
    const linked = value ? state.correlation.get(value.toLowerCase()) : undefined;
    if (linked) wanted.add(linked);
  }
  const keys = [...wanted];
  for (let i = 0; i < keys.length; i += 10_000) {
    const rows = await db.selectFrom('identities').select(['key', 'attributes']).where('key', '=', sql<string>`ANY(${keys.slice(i, i + 10_000)}::text[])`).execute();
    for (const row of rows) state.identities.get(row.key)?.attach(row.attributes);
  }
}
