/**
 * Importing a source file: read and validate it, diff it against what the
 * source said last time, guard against mass change, then record the records,
 * the lifecycle events and the identities' new state in one transaction, with
 * an audit entry for the import and for every event.
 *
 * Nothing is written when the file has invalid rows (unless skipInvalid), when
 * a guard holds the import (only the hold itself is recorded), or on a dry run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { Identity } from '../domain/identity.ts';
import type { AttributeChanges, LifecycleEventType } from '../domain/lifecycle-event.ts';
import { dateIn, lastInstantOf } from '../engine/org-calendar.ts';
import { foldTimeline, type TimelineEvent } from '../engine/timeline.ts';
import { EMPTY_DIRECTORY } from '../sources/reference-resolver.ts';
import { readSource } from '../sources/read-source.ts';
import type { RowError, SourceSnapshot } from '../sources/source-record.ts';
import { diffSnapshot, type DiffResult, type KnownIdentity, type PreviousRecord } from '../sources/snapshot-diff.ts';
import { appendAudit, type AuditEntryInput } from '../store/audit-log.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import { withIndexesDeferred } from '../store/deferred-indexes.ts';
import type { Database } from '../store/database.ts';
import { configuredSource, type JmlConfig } from './config.ts';
import { attachIdentityData, loadState, type EffectiveEvent } from './import-state.ts';
import { dueEventAuditEntries, foldDueEvents, IDENTITY_COLUMNS, identityRow, refoldIdentities, sameStoredValues } from './lifecycle-clock.ts';
import { massChangeVerdict, type MassChangeVerdict } from './mass-change-guard.ts';
import { upsertCredentials } from './nhi-credentials.ts';
import { orderedId } from '../store/ordered-id.ts';

type Db = Kysely<Database>;

export interface ImportOptions {
  readonly source: string;
  readonly file: string;
  /** "Today" for effective-date decisions (YYYY-MM-DD); default: the real date in the organisation's zone. */
  readonly asOf?: string | undefined;
  readonly dryRun?: boolean;
  readonly skipInvalid?: boolean;
  readonly allowMassChange?: boolean;
  readonly actor: string;
  /** The real clock, injectable for tests. */
  readonly now?: Date;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  /** What the audit entries name as the trigger: `cli` unless said (an inbound push says `api`). */
  readonly trigger?: string;
}

export interface ImportedEvent {
  readonly type: LifecycleEventType;
  /** The record key in this source. */
  readonly key: string;
  /** The identity it applies to (differs from `key` for a conversion or a rehire under a new key). */
  readonly identity: string;
  readonly source: string;
  readonly effective: string;
  readonly changes: AttributeChanges;
}

export type { EffectiveEvent } from './import-state.ts';

export type ImportStatus = 'applied' | 'dry_run' | 'held' | 'rejected';

export interface ImportResult {
  readonly importId: string;
  readonly status: ImportStatus;
  readonly source: string;
  readonly file: string;
  readonly asOf: string;
  readonly held: boolean;
  readonly heldReason: string | null;
  readonly events: readonly ImportedEvent[];
  /**
   * Scheduled events of any identity, in this source or not, that are due at
   * the as-of and take effect with this import (as `jml worker` would apply them).
   */
  readonly effective: readonly EffectiveEvent[];
  readonly errors: readonly RowError[];
  readonly warnings: readonly { readonly row: number; readonly key: string; readonly message: string }[];
  readonly counts: {
    readonly rows: number;
    readonly valid: number;
    readonly invalid: number;
    readonly joiners: number;
    readonly movers: number;
    readonly leavers: number;
    readonly rehires: number;
    readonly historical: number;
    readonly unchanged: number;
  };
  readonly massChange: MassChangeVerdict | null;
  /**
   * Keys the import classified without an immediate event: first seen already left
   * (kept as history, no leaver) and pending (signed, not started: a joiner on the start date).
   */
  readonly classified: { readonly historical: readonly string[]; readonly pending: readonly string[] };
}

export interface ImportDeps {
  readonly db: Db;
  readonly config: JmlConfig;
}

export async function importSource(deps: ImportDeps, options: ImportOptions): Promise<ImportResult> {
  const { db, config } = deps;
  const sourceConfig = configuredSource(config, options.source);
  const tz = config.timezone;
  const realNow = options.now ?? new Date();
  const asOf = options.asOf ?? dateIn(realNow, tz);
  if (options.asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.asOf)) throw new JmlError('invalid_input', `--as-of must be YYYY-MM-DD, got "${options.asOf}"`);
  const evaluatedAt = options.asOf === undefined || options.asOf === dateIn(realNow, tz) ? realNow.toISOString() : lastInstantOf(asOf, tz);
  const importId = randomUUID();
  const bytes = await readFile(options.file).catch((cause: Error) => {
    throw new JmlError('source_unreadable', `cannot read ${options.file}: ${cause.message}`, { cause });
  });
  const fileSha256 = createHash('sha256').update(bytes).digest('hex');

  options.onProgress?.('loading identities', 0, 1);
  const state = await loadState(db, options.source, evaluatedAt, config.correlation.attribute);
  options.onProgress?.('reading file', 0, 1);
  let snapshot = await readSource({ name: options.source, config: sourceConfig, filePath: options.file, timezone: tz, directory: state.directory, asOf });
  state.directory = EMPTY_DIRECTORY;
  const base = { importId, source: options.source, file: path.basename(options.file), asOf, errors: snapshot.errors } as const;

  const emptyReason = snapshot.rowsTotal === 0 && snapshot.errors.every((e) => e.row === 0) ? `${base.file} has no data rows (empty or header-only); an empty source never means "everyone left"` : null;
  if (emptyReason) {
    return hold(deps, options, { ...base, snapshot, diff: null, verdict: null, reason: emptyReason, fileSha256, realNow });
  }
  // --skip-invalid skips rows whose key is known; a malformed row's key is not, and skipping it would make a leaver.
  const unskippable = snapshot.records.length === 0 || snapshot.errors.some((e) => e.row === 0) || (snapshot.malformedRows ?? 0) > 0;
  if (snapshot.errors.length > 0 && (!options.skipInvalid || unskippable)) {
    return result({ ...base, status: 'rejected', snapshot, diff: null, verdict: null, heldReason: null });
  }

  options.onProgress?.('detecting events', 0, snapshot.records.length);
  await attachIdentityData(db, state, snapshot, config.correlation.attribute);
  const diff = diffSnapshot({
    source: options.source,
    snapshot,
    previous: state.previous,
    identities: state.identities,
    correlation: state.correlation,
    correlationAttribute: config.correlation.attribute,
    asOf,
    timezone: tz,
  });
  const verdict = massChangeVerdict(diff, state.identities, options.source, config.mass_change);
  if (verdict.exceeded && !options.allowMassChange) {
    return hold(deps, options, { ...base, snapshot, diff, verdict, reason: verdict.message, fileSha256, realNow });
  }
  if (options.dryRun) {
    const superseded = new Set(diff.superseded);
    const effective = state.due.filter((e) => !superseded.has(e.event));
    return result({ ...base, status: 'dry_run', snapshot, diff, verdict, heldReason: null, effective });
  }

  // From here on only the snapshot's counts and the records carrying credentials are needed:
  // letting 100,000 parsed rows go keeps them out of the write's peak memory.
  const validRows = snapshot.records.length;
  snapshot = { ...snapshot, records: snapshot.records.filter((r) => r.credentials !== undefined && r.credentials.length > 0) };
  const written = snapshot;
  const effective = await db.transaction().execute(async (trx) =>
    writeImport(trx, { ...options, importId, asOf, evaluatedAt, fileSha256, snapshot: written, validRows, diff, verdict, realNow, previous: state.previous, identities: state.identities, due: state.due }),
  );
  return result({ ...base, status: 'applied', snapshot, validRows, diff, verdict, heldReason: null, effective });
}

export interface WriteInput extends ImportOptions {
  readonly importId: string;
  readonly asOf: string;
  readonly evaluatedAt: string;
  readonly fileSha256: string;
  /** The snapshot's counts, with only the records that carry credentials. */
  readonly snapshot: SourceSnapshot;
  /** How many valid records the file had. */
  readonly validRows: number;
  readonly diff: DiffResult;
  readonly verdict: MassChangeVerdict;
  readonly realNow: Date;
  /** The source's records as loaded before the diff. */
  readonly previous: ReadonlyMap<string, PreviousRecord>;
  /** The identities as loaded before the diff (for the events they had scheduled). */
  readonly identities: ReadonlyMap<string, KnownIdentity>;
  /** Scheduled events due at the evaluation instant, as loaded before the diff. */
  readonly due: readonly EffectiveEvent[];
  /**
   * Identities with an event crossing the evaluation instant (scheduled but due, applied but not yet due), when the
   * state was loaded in the write's own transaction (a push: `loadState` with a scope): then `due` is complete and
   * neither is asked of the database again. Absent (a file, whose state is loaded before its transaction): asked.
   */
  readonly crossing?: ReadonlySet<string>;
}

/** New identities from which a write builds the indexes of empty tables after loading them (deferred-indexes.ts); a push or a small file keeps them. */
const DEFER_INDEXES_FROM = 10_000;

const EVENT_COLUMNS = {
  id: 'text',
  type: 'text',
  identity_key: 'text',
  source: 'text',
  record_key: 'text',
  effective_date: 'date',
  effective_at: 'timestamptz',
  detected_at: 'timestamptz',
  changes: 'jsonb',
  state: 'text',
  import_id: 'text',
} as const;

/**
 * Records the import (or an inbound push, src/app/inbound/scim-push.ts): identities, records, events,
 * refolds, credentials, audit and the imports row, in the caller's transaction; returns the
 * earlier-scheduled events that took effect with it.
 */
export async function writeImport(db: Db, w: WriteInput): Promise<EffectiveEvent[]> {
  const { diff, source, importId, actor } = w;
  const trigger = `import:${importId}`;
  const detectedAt = w.realNow.toISOString();
  const eventIds = diff.events.map(() => orderedId());

  // Each event is written in the state the fold gives it (an event takes effect at its effective time, timeline.ts),
  // so the re-fold below finds no state to correct: a mover effective today is not written twice.
  const stateOf = (i: number) => (diff.events[i]!.effectiveAt <= w.evaluatedAt ? 'applied' : 'scheduled');
  const newKeys = new Set(diff.newIdentities.map((n) => n.key));
  // A first import of a large file builds the secondary indexes and checks the foreign keys of the tables it fills once, after the load.
  const write = async () => {
    w.onProgress?.('writing identities', 0, diff.newIdentities.length);
    await writeNewIdentities(db, w, eventIds);
    w.onProgress?.('writing records', 0, diff.records.length);
    await writeRecords(db, w, detectedAt);
    w.onProgress?.('writing events', 0, diff.events.length);
    await bulkInsert(db, 'lifecycle_events', EVENT_COLUMNS, diff.events, {
      map: (e, i) => ({
        id: eventIds[i],
        type: e.type,
        identity_key: e.identityKey,
        source,
        record_key: e.recordKey,
        effective_date: e.effectiveDate,
        effective_at: e.effectiveAt,
        detected_at: detectedAt,
        changes: e.changes,
        state: stateOf(i),
        import_id: importId,
      }),
    });
  };
  if (diff.newIdentities.length >= DEFER_INDEXES_FROM) await withIndexesDeferred(db, ['identities', 'source_records', 'lifecycle_events'], write);
  else await write();
  for (let i = 0; i < diff.superseded.length; i += 5000) {
    await db.updateTable('lifecycle_events').set({ state: 'rescinded' }).where('id', 'in', diff.superseded.slice(i, i + 5000)).execute();
  }
  w.onProgress?.('refolding identities', 0, 1);
  const touched = await identitiesToRefold(db, w, newKeys);
  // The identities this import touched first (their fold may also un-apply), then every other identity with an event due at the as-of.
  const writtenApplied = new Set(eventIds.filter((_, i) => stateOf(i) === 'applied'));
  const outcomes = [...(await refoldIdentities(db, touched, w.evaluatedAt, writtenApplied))];
  if (w.crossing) {
    // Loaded in this transaction: w.due is every event due at the as-of, so nothing need be asked again.
    const refolded = new Set(touched);
    outcomes.push(...(await refoldIdentities(db, [...new Set(w.due.map((e) => e.identity))].filter((key) => !refolded.has(key)), w.evaluatedAt)));
  } else outcomes.push(...(await foldDueEvents(db, w.evaluatedAt)));
  w.onProgress?.('writing credentials', 0, 1);
  await upsertCredentials(db, w.snapshot, diff);

  const nowApplied = new Set(outcomes.flatMap((o) => o.nowApplied));
  const effective = w.due.filter((e) => nowApplied.has(e.event));
  const statusEntries = dueEventAuditEntries(outcomes, actor, trigger, new Set(eventIds));
  const released = w.allowMassChange === true && w.verdict.exceeded;
  // Entries are generated as the audit writes them: 100,000 event entries are never all built at once.
  function* entries(): Generator<AuditEntryInput> {
    yield {
      actor,
      action: 'import.applied',
      subject: `import:${importId}`,
      trigger: w.trigger ?? 'cli',
      details: { source, file: path.basename(w.file), sha256: w.fileSha256, asOf: w.asOf, counts: countEvents(diff), effective: effective.length, skippedInvalid: w.snapshot.errors.length, massChange: w.verdict },
    };
    if (released) yield { actor, action: 'import.mass_change_released', subject: `import:${importId}`, trigger: w.trigger ?? 'cli', details: { ...w.verdict } };
    for (let i = 0; i < diff.events.length; i += 1) {
      const e = diff.events[i]!;
      yield { actor, action: `lifecycle.${e.type}`, subject: e.identityKey, trigger, after: { changes: e.changes, effective: e.effectiveDate, event: eventIds[i], state: stateOf(i) } };
    }
    for (const id of diff.superseded) yield { actor, action: 'lifecycle.event_superseded', subject: id, trigger };
    yield* statusEntries;
  }
  w.onProgress?.('writing audit', 0, 1 + (released ? 1 : 0) + diff.events.length + diff.superseded.length + statusEntries.length);
  await appendAudit(db, entries(), w.realNow);
  await db
    .insertInto('imports')
    .values({
      id: importId,
      source,
      file_name: path.basename(w.file),
      file_sha256: w.fileSha256,
      as_of: w.asOf,
      status: 'applied',
      rows_total: w.snapshot.rowsTotal,
      rows_valid: w.validRows,
      rows_invalid: w.snapshot.errors.length,
      summary: JSON.stringify({ counts: countEvents(diff), effective: effective.length, warnings: diff.warnings }),
      actor,
      started_at: detectedAt,
    })
    .execute();
  return effective;
}

/**
 * The existing identities this import touched whose fold can differ from their
 * stored row. Every touched identity used to be re-folded; a re-import of an
 * unchanged file then read 100,000 timelines to rewrite nothing. An identity's
 * stored row is the fold of its timeline at the last fold, so the fold can only
 * come out different when
 *   - its timeline changed: a new or superseded event, or a record linked to it anew;
 *   - an event crossed the evaluation instant: still scheduled but due, or
 *     applied but (with an earlier --as-of) not yet due.
 * Edits made in jml (console, ownership transfers) are timeline events of
 * source `jml` (identity-edit.ts), so no stored row differs from its fold.
 */
async function identitiesToRefold(db: Db, w: WriteInput, newKeys: ReadonlySet<string>): Promise<string[]> {
  const { diff } = w;
  const touched = new Set<string>();
  for (const e of diff.events) if (!newKeys.has(e.identityKey)) touched.add(e.identityKey);
  for (const r of diff.records) if (!newKeys.has(r.identityKey)) touched.add(r.identityKey);
  // A first import touches only identities it creates, written as their fold: nothing to look up (the events table
  // it had just filled was searched for crossing events to re-fold none; the phase 115-190 -> 80 ms CPU at 100,000 on PGlite).
  if (touched.size === 0) return [];
  const candidates = new Set<string>();
  for (const e of diff.events) candidates.add(e.identityKey);
  for (const r of diff.records) if (w.previous.get(r.recordKey)?.identityKey !== r.identityKey) candidates.add(r.identityKey);
  const superseded = new Set(diff.superseded);
  for (const identity of w.identities.values()) {
    if (identity.scheduled.some((e) => superseded.has(e.id))) candidates.add(identity.key);
  }
  for (const key of w.crossing ?? (await crossingIdentities(db, w.evaluatedAt))) candidates.add(key);
  return [...touched].filter((key) => candidates.has(key));
}

/** Identities with an event crossing the instant: still scheduled but due, or applied but (with an earlier --as-of) not yet due. */
async function crossingIdentities(db: Db, evaluatedAt: string): Promise<string[]> {
  const at = evaluatedAt as unknown as Date;
  const rows = await db
    .selectFrom('lifecycle_events')
    .select('identity_key')
    .distinct()
    .where((eb) => eb.or([eb.and([eb('state', '=', 'scheduled'), eb('effective_at', '<=', at)]), eb.and([eb('state', '=', 'applied'), eb('effective_at', '>', at)])]))
    .execute();
  return rows.map((r) => r.identity_key);
}

/**
 * New identities: their whole timeline is in this import, so they are folded in
 * memory and written, a chunk at a time as bulkInsert maps them: the folded
 * identities of a 100,000-row file are never all held.
 */
async function writeNewIdentities(db: Db, w: WriteInput, eventIds: readonly string[]): Promise<void> {
  const { diff, source } = w;
  // Each identity's events as a chain of indices (first event, then `next`), not a list per identity.
  const firstEvent = new Map<string, number>();
  const nextEvent = new Int32Array(diff.events.length);
  for (let i = diff.events.length - 1; i >= 0; i -= 1) {
    const key = diff.events[i]!.identityKey;
    nextEvent[i] = firstEvent.get(key) ?? -1;
    firstEvent.set(key, i);
  }
  const timelineOf = (key: string): TimelineEvent[] => {
    const events: TimelineEvent[] = [];
    for (let i = firstEvent.get(key) ?? -1; i !== -1; i = nextEvent[i]!) {
      const e = diff.events[i]!;
      events.push({ id: eventIds[i]!, seq: i, type: e.type, effectiveAt: e.effectiveAt, changes: e.changes, state: 'scheduled' });
    }
    return events;
  };
  const folded = (n: DiffResult['newIdentities'][number]): Identity => {
    const fold = foldTimeline(n.key, timelineOf(n.key), w.evaluatedAt);
    return n.status === 'left' && fold.applied.length + fold.scheduled.length === 0
      ? { ...fold.identity, ...fromData(n), status: 'left' }
      : { ...fold.identity, source: fold.identity.source || source };
  };
  await bulkInsert(db, 'identities', IDENTITY_COLUMNS, diff.newIdentities, { map: (n) => identityRow(folded(n)) });
}

const RECORD_COLUMNS = { source: 'text', record_key: 'text', identity_key: 'text', data: 'jsonb', present: 'boolean', last_import_id: 'text', updated_at: 'timestamptz' } as const;

/**
 * Every record the diff touched is stamped with this import. Only records whose
 * identity, data or presence changed travel with their data; the rest (most of
 * a daily file) are stamped by key, which keeps a re-import's statement small.
 * A file's state holds every record of the source, so a record it did not have
 * is inserted without `ON CONFLICT` (its speculative insertion cost the server
 * ~0.5 s of 1.1-1.7 s for the 100,000 records of a first import); were one
 * written meanwhile by another import, the insert fails the import instead of
 * overwriting it, as the identities' insert does. A push's scoped state keeps
 * the upsert for all.
 */
async function writeRecords(db: Db, w: WriteInput, detectedAt: string): Promise<void> {
  const { source, importId } = w;
  const added: DiffResult['records'][number][] = [];
  const changed: DiffResult['records'][number][] = [];
  const stamped: string[] = [];
  for (const r of w.diff.records) {
    const prev = w.previous.get(r.recordKey);
    if (prev && prev.identityKey === r.identityKey && prev.present === r.present && sameStoredValues(prev.data, r.data)) stamped.push(r.recordKey);
    else if (!prev && !w.crossing) added.push(r);
    else changed.push(r);
  }
  const map = (r: DiffResult['records'][number]) => ({ source, record_key: r.recordKey, identity_key: r.identityKey, data: r.data, present: r.present, last_import_id: importId, updated_at: detectedAt });
  await bulkInsert(db, 'source_records', RECORD_COLUMNS, added, { map });
  await bulkInsert(db, 'source_records', RECORD_COLUMNS, changed, {
    map,
    upsert: { conflict: ['source', 'record_key'], update: ['identity_key', 'data', 'present', 'last_import_id', 'updated_at'] },
  });
  for (let i = 0; i < stamped.length; i += 20_000) {
    await db
      .updateTable('source_records')
      .set({ last_import_id: importId, updated_at: detectedAt })
      .where('source', '=', source)
      .where('record_key', '=', sql<string>`ANY(${stamped.slice(i, i + 20_000)}::text[])`)
      .execute();
  }
}


function fromData(n: DiffResult['newIdentities'][number]): Partial<Identity> {
  const { kind: _k, status: _s, source, start_date, end_date, owner, sponsor, ...attributes } = n.data;
  return { kind: n.kind, source: source ?? '', startDate: start_date ?? null, endDate: end_date ?? null, owner: owner ?? null, sponsor: sponsor ?? null, attributes };
}

interface HoldInput {
  readonly importId: string;
  readonly source: string;
  readonly file: string;
  readonly asOf: string;
  readonly errors: readonly RowError[];
  readonly snapshot: SourceSnapshot;
  readonly diff: DiffResult | null;
  readonly verdict: MassChangeVerdict | null;
  readonly reason: string;
  readonly fileSha256: string;
  readonly realNow: Date;
}

/** A held import changes nothing; the hold itself is recorded (not on a dry run) so someone can review and release it. */
async function hold(deps: ImportDeps, options: ImportOptions, h: HoldInput): Promise<ImportResult> {
  if (!options.dryRun) {
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('imports')
        .values({
          id: h.importId,
          source: h.source,
          file_name: h.file,
          file_sha256: h.fileSha256,
          as_of: h.asOf,
          status: 'held',
          rows_total: h.snapshot.rowsTotal,
          rows_valid: h.snapshot.records.length,
          rows_invalid: h.snapshot.errors.length,
          summary: JSON.stringify({ reason: h.reason, counts: h.diff ? countEvents(h.diff) : null }),
          actor: options.actor,
          started_at: h.realNow.toISOString(),
        })
        .execute();
      await appendAudit(trx, { actor: options.actor, action: 'import.held', subject: `import:${h.importId}`, trigger: 'cli', details: { source: h.source, file: h.file, sha256: h.fileSha256, reason: h.reason, massChange: h.verdict } }, h.realNow);
    });
  }
  return result({ ...h, status: 'held', heldReason: h.reason });
}

/** Joiners, movers, leavers, rehires, historical and unchanged records of a diff. */
export function countEvents(diff: DiffResult) {
  const count = (t: LifecycleEventType) => diff.events.filter((e) => e.type === t).length;
  return { joiners: count('joiner'), movers: count('mover'), leavers: count('leaver'), rehires: count('rehire'), historical: diff.historical.length, unchanged: diff.unchanged };
}

function result(r: {
  importId: string;
  status: ImportStatus;
  source: string;
  file: string;
  asOf: string;
  errors: readonly RowError[];
  snapshot: SourceSnapshot;
  /** Valid records, when `snapshot.records` no longer holds them all. */
  validRows?: number;
  diff: DiffResult | null;
  verdict: MassChangeVerdict | null;
  heldReason: string | null;
  effective?: readonly EffectiveEvent[];
}): ImportResult {
  const counts = r.diff ? countEvents(r.diff) : { joiners: 0, movers: 0, leavers: 0, rehires: 0, historical: 0, unchanged: 0 };
  return {
    importId: r.importId,
    status: r.status,
    source: r.source,
    file: r.file,
    asOf: r.asOf,
    held: r.status === 'held',
    heldReason: r.heldReason,
    events: (r.diff?.events ?? []).map((e) => ({ type: e.type, key: e.recordKey, identity: e.identityKey, source: r.source, effective: e.effectiveDate, changes: e.changes })),
    effective: r.effective ?? [],
    errors: r.errors,
    warnings: r.diff?.warnings ?? [],
    counts: { rows: r.snapshot.rowsTotal, valid: r.validRows ?? r.snapshot.records.length, invalid: r.snapshot.errors.length, ...counts },
    massChange: r.verdict,
    classified: { historical: r.diff?.historical ?? [], pending: r.diff?.pending ?? [] },
  };
}
