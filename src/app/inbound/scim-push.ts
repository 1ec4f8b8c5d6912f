/**
 * An inbound push: SCIM User resources (and deletions) sent to a source of
 * type `scim` go through that source's mapping and validation, the snapshot
 * diff, the mass-change guard and the import's write — the same code a file
 * import runs — for just the records pushed. A push changes the stored state
 * of its own keys only; a deletion is the key leaving the source, as a key
 * missing from a full file is.
 *
 * One push is one transaction, serialised per source by an advisory lock, so
 * two clients (or two API processes) never diff against the same old state.
 * Pushing what is already stored changes nothing: no event, no new version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { dateIn } from '../../engine/org-calendar.ts';
import { createReferenceResolver, EMPTY_DIRECTORY } from '../../sources/reference-resolver.ts';
import { filePerson, mapSourceTable } from '../../sources/record-mapper.ts';
import type { SourceTable } from '../../sources/source-table.ts';
import { createRowReader } from '../../sources/row-reader.ts';
import { attributeOf, scimAttributePath, scimUserTable, type ScimObject } from '../../sources/scim-user-table.ts';
import { DEFAULT_GUARD_WINDOW_MINUTES, REFERENCE_FIELDS, resolveSourceConfig, sourceColumns } from '../../sources/source-config.ts';
import { diffSnapshot, type DiffResult, type PreviousRecord } from '../../sources/snapshot-diff.ts';
import type { SourceRecord, SourceSnapshot } from '../../sources/source-record.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { configuredSource, type JmlConfig } from '../config.ts';
import { sameStoredValues } from '../lifecycle-clock.ts';
import { countEvents, writeImport, type ImportedEvent, type ImportStatus } from '../import-source.ts';
import { attachIdentityData, loadState, scopedStateOf, scopedStateQuery, type EffectiveEvent, type ScopedStateRow, type StateScope } from '../import-state.ts';
import { pushMassChangeVerdict, type MassChangeVerdict } from '../mass-change-guard.ts';
import { loadPushTargets, pushTargetsOf, pushTargetsQuery, type PushTargetsRow, type WaitingUser } from './scim-push-targets.ts';
import { writeScimResources, type StoredUser, type StoredVersion } from './scim-resource-store.ts';

type Db = Kysely<Database>;

/** A User resource to create or replace. */
export interface PushedUser {
  /** The resource's id when it must exist (PUT, PATCH); null for a create. */
  readonly id: string | null;
  readonly resource: ScimObject;
  /** A create whose key exists: refused (POST /Users) or an update (Entra's bulk upload posts every record). */
  readonly onExisting: 'conflict' | 'update';
  /** The version the client read (If-Match); null: any. */
  readonly ifMatch: string | null;
}

export interface PushedDelete {
  readonly id: string;
  readonly ifMatch: string | null;
}

export interface PushInput {
  readonly source: string;
  readonly users: readonly PushedUser[];
  readonly deletes: readonly PushedDelete[];
  /** What the imports list shows for this push (`scim POST /Users`, `scim Bulk`). */
  readonly label: string;
  readonly dryRun: boolean;
  /** A person released a push the guard held (audited). */
  readonly allowMassChange?: boolean;
  /** The token's name (`scim:<source>:<name>`) or the person releasing. */
  readonly actor: string;
  readonly trigger: string;
  readonly now: Date;
  /**
   * Runs in the push's transaction once it is decided (applied, held or dry run), so what the caller records
   * of it (an asynchronous Bulk's progress) commits with it or not at all. Throwing rolls the push back.
   */
  readonly inTransaction?: (trx: Db, result: PushResult) => Promise<void>;
}

/** One operation's result, in the order of `users` then `deletes`. */
export type OperationOutcome =
  | { readonly ok: true; readonly id: string; readonly created: boolean; readonly user: StoredUser | null }
  | { readonly ok: false; readonly error: JmlError };

export interface PushResult {
  readonly importId: string;
  readonly status: ImportStatus;
  readonly source: string;
  readonly operations: readonly OperationOutcome[];
  readonly events: readonly ImportedEvent[];
  readonly effective: readonly EffectiveEvent[];
  readonly massChange: MassChangeVerdict | null;
  readonly heldReason: string | null;
  readonly counts: ReturnType<typeof countEvents>;
  /** Whether the push was recorded as an import (with its audit entries); false when it changed nothing. */
  readonly recorded: boolean;
}

export interface PushDeps {
  readonly db: Db;
  readonly config: JmlConfig;
}

/** The source's configuration, refused unless it is an inbound (`scim`) source. */
export function inboundSource(config: JmlConfig, source: string) {
  const sourceConfig = configuredSource(config, source);
  if (sourceConfig.type !== 'scim') throw new JmlError('invalid_input', `source ${source} is of type ${sourceConfig.type}: records are pushed only to a source of type scim`);
  return sourceConfig;
}

/**
 * Applies (or, on a dry run, only diffs) one push. Operations that cannot be
 * applied (unknown id, existing key, stale version, a value the mapping
 * refuses) fail on their own; the others go ahead.
 * @example await pushUsers({ db, config }, { source: 'entra', users: [{ id: null, resource, onExisting: 'update', ifMatch: null }], deletes: [], label: 'scim Bulk', dryRun: false, actor: 'scim:entra:prod', trigger: 'api:…', now: new Date() })
 */
export async function pushUsers(deps: PushDeps, input: PushInput): Promise<PushResult> {
  const { config } = deps;
  const resolved = resolveSourceConfig(inboundSource(config, input.source));
  // What depends only on the request is worked out before the lock: pushes of one source wait for each other
  // only for the part that reads and writes the source's state.
  const prepared = preparePush(input, resolved);
  return deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`jml.scim:${input.source}`}))`.execute(trx);
    const result = await push(trx, deps, input, resolved, prepared);
    await input.inTransaction?.(trx, result);
    return result;
  });
}

/** The request as the push reads it: its resources as a source table, each one's key, the userNames it claims, and its content's hash. */
interface PreparedPush {
  readonly table: SourceTable;
  readonly keyOf: readonly (string | null)[];
  readonly userNames: readonly string[];
  /** The pushed content as kept (a held push keeps exactly this text): its sha256 is the import's, as a file's bytes are. */
  readonly content: string;
  readonly sha256: string;
}

function preparePush(input: PushInput, resolved: ReturnType<typeof resolveSourceConfig>): PreparedPush {
  const { users } = input;
  const table = scimUserTable(input.label, users.map((u) => u.resource));
  const content = JSON.stringify({ users: input.users, deletes: input.deletes });
  return {
    table,
    keyOf: table.rows.map((row, i) => users[i]!.id ?? createRowReader(row, resolved.fields, input.label).value('key')),
    userNames: users.map((u) => attributeOf(u.resource, 'userName')).filter((n): n is string => typeof n === 'string'),
    content,
    sha256: createHash('sha256').update(content).digest('hex'),
  };
}

async function push(trx: Db, deps: PushDeps, input: PushInput, resolved: ReturnType<typeof resolveSourceConfig>, prepared: PreparedPush): Promise<PushResult> {
  const { config } = deps;
  const { source, users, deletes, now } = input;
  const tz = config.timezone;
  const asOf = dateIn(now, tz);
  const evaluatedAt = now.toISOString();
  const importId = randomUUID();
  const outcomes: (OperationOutcome | null)[] = Array.from({ length: users.length + deletes.length }, () => null);
  const fail = (i: number, error: JmlError) => void (outcomes[i] = { ok: false, error });

  const { table, keyOf, userNames } = prepared;
  const referenceColumns = REFERENCE_FIELDS.flatMap((f) => (resolved.fields.get(f) ? sourceColumns(resolved.fields.get(f)!.source) : []));
  /** The state a diff of these rows (with these keys, deleted ones included) must see. */
  const scopeOf = (rows: SourceTable['rows'], recordKeys: readonly string[]): StateScope => ({
    recordKeys,
    references: rows.flatMap((r) => referenceColumns.map((c) => r.values[c]).filter((v): v is string => Boolean(v))),
    correlationValues: rows.map((r) => createRowReader(r, resolved.fields, input.label).value(config.correlation.attribute)).filter((v): v is string => v !== null),
  });
  // One round trip reads what the push names and the state of everything it names — every operation's, as if
  // all were accepted: the operations refused below only widen what is read, and the diff looks identities up by key.
  const named = [...keyOf.filter((k): k is string => k !== null), ...deletes.map((d) => d.id)];
  const { rows: [read] } = await sql<{ targets: PushTargetsRow; state: ScopedStateRow }>`
    SELECT (SELECT row_to_json(t) FROM (${pushTargetsQuery(trx, source, named, userNames, resolved.fields.has('manager'))}) t) AS targets,
      (SELECT row_to_json(s) FROM (${scopedStateQuery(trx, source, evaluatedAt, config.correlation.attribute, scopeOf(table.rows, named))}) s) AS state`.execute(trx);
  const targets = pushTargetsOf(read!.targets, named, userNames);
  const { stored, nameHolders } = targets;
  users.forEach((u, i) => {
    const key = keyOf[i] ?? null;
    const existing = key === null ? undefined : stored.get(key);
    const userName = attributeOf(u.resource, 'userName');
    if (typeof userName !== 'string' || userName.trim() === '') return fail(i, new JmlError('invalid_input', 'userName is required (RFC 7643 §4.1.1)', { details: { attribute: 'userName', scimType: 'invalidValue' } }));
    if (key === null) return fail(i, new JmlError('invalid_input', `the resource has no key: ${describeKey(resolved)} is empty`, { details: { attribute: describeKey(resolved) } }));
    if (u.id !== null && !existing?.present) return fail(i, new JmlError('not_found', `no User ${u.id} in source ${source}`));
    if (u.id === null && existing?.present && u.onExisting === 'conflict') return fail(i, new JmlError('conflict', `a User with key ${key} already exists in source ${source}`, { details: { scimType: 'uniqueness', id: key } }));
    if (u.ifMatch !== null && existing && !versionMatches(u.ifMatch, existing.version)) return fail(i, staleVersion(key));
    const holder = nameHolders.get(userName.toLowerCase());
    if (holder !== undefined && holder !== key) return fail(i, new JmlError('conflict', `userName ${userName} is already User ${holder}'s in source ${source}`, { details: { attribute: 'userName', scimType: 'uniqueness', id: holder } }));
    // The name is this key's from here on (a later operation of the same push cannot take it); its old name is free.
    const oldName = existing?.present ? attributeOf(existing.resource, 'userName') : undefined;
    if (typeof oldName === 'string' && nameHolders.get(oldName.toLowerCase()) === key) nameHolders.delete(oldName.toLowerCase());
    nameHolders.set(userName.toLowerCase(), key);
  });
  deletes.forEach((d, j) => {
    const existing = stored.get(d.id);
    if (!existing?.present) return fail(users.length + j, new JmlError('not_found', `no User ${d.id} in source ${source}`));
    if (d.ifMatch !== null && !versionMatches(d.ifMatch, existing.version)) return fail(users.length + j, staleVersion(d.id));
  });

  const accepted = table.rows.map((_, i) => i).filter((i) => outcomes[i] === null);
  const pushedTable = { ...table, rows: accepted.map((i) => table.rows[i]!), rowsTotal: accepted.length };
  // Users stored with a manager that named nobody, whom this push's people now resolve: mapped again with it,
  // numbered after the push's own operations (row - 1 beyond them is not an operation of the client's).
  const firstReferrerRow = users.length + deletes.length + 1;
  // Only a person new to the source can be the one a waiting reference names: a push of known records resolves nothing.
  const arrivals = { ...pushedTable, rows: pushedTable.rows.filter((_, n) => !stored.get(keyOf[accepted[n]!]!)?.present) };
  const resolvedIds = referrersResolvedBy(targets.waiting, source, resolved, arrivals, new Set([...keyOf.filter((k): k is string => k !== null), ...deletes.map((d) => d.id)]), tz, asOf);
  const referrerResources = resolvedIds.length === 0 ? new Map<string, StoredVersion>() : (await loadPushTargets(trx, source, resolvedIds, [], false)).stored;
  const referrers = resolvedIds.flatMap((id) => { const r = referrerResources.get(id); return r?.present ? [{ id, resource: r.resource }] : []; });
  const referrerRows = scimUserTable(input.label, referrers.map((r) => r.resource)).rows.map((row, k) => ({ ...row, row: firstReferrerRow + k }));
  const isReferrer = (row: number) => row >= firstReferrerRow;
  const keyAt = (row: number) => (isReferrer(row) ? referrers[row - firstReferrerRow]!.id : keyOf[row - 1]!);
  const acceptedTable = { ...pushedTable, rows: [...pushedTable.rows, ...referrerRows], rowsTotal: pushedTable.rows.length + referrerRows.length };
  const deletedKeys = deletes.map((d, j) => (outcomes[users.length + j] === null ? d.id : null)).filter((k): k is string => k !== null);
  // Waiting Users this push resolves (rare) widen the state: it is read again, with them.
  const state = referrers.length === 0
    ? await scopedStateOf(trx, read!.state, evaluatedAt)
    : await loadState(trx, source, evaluatedAt, config.correlation.attribute, scopeOf(acceptedTable.rows, [...accepted.map((i) => keyOf[i]!), ...referrers.map((r) => r.id), ...deletedKeys]));
  const mapped = mapSourceTable(acceptedTable, { source, config: resolved, timezone: tz, directory: state.directory, asOf, keepUnknownManagers: true });
  state.directory = EMPTY_DIRECTORY;
  const records: SourceRecord[] = [];
  // Rows keep their number in the request (scimUserTable numbers them from 1): row - 1 is the operation.
  for (const record of mapped.records) records.push({ ...record, key: keyAt(record.row) });
  for (const e of mapped.errors) {
    const i = e.row - 1;
    if (i < 0 || i >= users.length || outcomes[i] !== null) continue;
    const attribute = e.column ? scimAttributePath(e.column) : null;
    fail(i, new JmlError('invalid_input', attribute ? `${attribute}: ${e.message}` : e.message, { details: { attribute, scimType: 'invalidValue' } }));
  }
  const valid = records.filter((r) => isReferrer(r.row) || outcomes[r.row - 1] === null);
  const validKeys = new Set([...valid.map((r) => r.key), ...deletedKeys]);
  const previous = new Map<string, PreviousRecord>([...state.previous].filter(([key]) => validKeys.has(key)));
  const snapshot: SourceSnapshot = { source, file: input.label, rowsTotal: users.length + deletes.length, records: valid, errors: [], invalidKeys: [], fullSnapshot: true };
  await attachIdentityData(trx, state, snapshot, config.correlation.attribute);
  const diff = diffSnapshot({ source, snapshot, previous, identities: state.identities, correlation: state.correlation, correlationAttribute: config.correlation.attribute, asOf, timezone: tz });
  const verdict = await guardVerdict(trx, deps, input, diff, state.identities);
  const result = (status: ImportStatus, heldReason: string | null, effective: readonly EffectiveEvent[]): PushResult => ({
    importId,
    status,
    source,
    operations: outcomes.map((o, i) => o ?? { ok: true, id: i < users.length ? keyOf[i]! : deletes[i - users.length]!.id, created: i < users.length && !stored.get(keyOf[i]!)?.present, user: null }),
    events: diff.events.map((e) => ({ type: e.type, key: e.recordKey, identity: e.identityKey, source, effective: e.effectiveDate, changes: e.changes })),
    effective,
    massChange: verdict,
    heldReason,
    counts: countEvents(diff),
    recorded: status === 'held',
  });
  if (verdict.exceeded && !input.allowMassChange) {
    if (!input.dryRun) await recordHold(trx, input, prepared, importId, snapshot, diff, verdict);
    return result('held', verdict.message, []);
  }
  if (input.dryRun) return result('dry_run', null, []);

  // Nothing for the import's write to record (a retry, or a change no mapped field sees): no imports row,
  // no audit of an import that did nothing; the request itself is audited by the API, the resource stored below.
  const unchanged = diff.events.length === 0 && diff.superseded.length === 0 && diff.newIdentities.length === 0 && state.due.length === 0 &&
    diff.records.every((r) => { const prev = state.previous.get(r.recordKey); return prev !== undefined && prev.identityKey === r.identityKey && prev.present === r.present && sameStoredValues(prev.data, r.data); });
  const effective = unchanged ? [] : await writeImport(trx, {
    source, file: input.label, actor: input.actor, trigger: input.trigger, allowMassChange: input.allowMassChange ?? false,
    importId, asOf, evaluatedAt, fileSha256: prepared.sha256,
    snapshot: { ...snapshot, records: [] }, validRows: valid.length,
    diff, verdict, realNow: now, previous: state.previous, identities: state.identities, due: state.due, ...(state.crossing ? { crossing: state.crossing } : {}),
  });
  const validRows = new Set(valid.map((r) => r.row - 1));
  const written = await writeScimResources(trx, source, now, stored, [
    ...users.flatMap((u, i) => (validRows.has(i) ? [{ index: i, id: keyOf[i]!, resource: u.resource, present: true }] : [])),
    ...deletes.flatMap((d, j) => (outcomes[users.length + j] === null ? [{ index: users.length + j, id: d.id, resource: null, present: false }] : [])),
  ]);
  const done = result('applied', null, effective);
  return { ...done, recorded: !unchanged, operations: done.operations.map((o, i) => (o.ok ? { ...o, user: written.get(i) ?? null } : o)) };
}

/**
 * The waiting Users (kept with a manager reference that named nobody, other
 * than `exclude`) whom the people of `pushed` now resolve — by the source's
 * own reference rule, through the same resolver a file uses.
 */
function referrersResolvedBy(waiting: readonly WaitingUser[], source: string, resolved: ReturnType<typeof resolveSourceConfig>, pushed: SourceTable, exclude: ReadonlySet<string>, timezone: string, asOf: string): string[] {
  const manager = resolved.fields.get('manager');
  const candidates = waiting.filter((w) => !exclude.has(w.id));
  if (!manager || pushed.rows.length === 0 || candidates.length === 0) return [];
  const people = mapSourceTable(pushed, { source, config: resolved, timezone, directory: EMPTY_DIRECTORY, asOf, keepUnknownManagers: true }).records;
  const resolver = createReferenceResolver(people.map((p) => filePerson(p.key, p.attributes)), EMPTY_DIRECTORY);
  return candidates.filter((c) => 'key' in resolver.resolve(c.reference, manager.by, 'manager')).map((c) => c.id);
}

function describeKey(resolved: ReturnType<typeof resolveSourceConfig>): string {
  const key = resolved.fields.get('key');
  return key ? sourceColumns(key.source).map(scimAttributePath).join(' / ') : 'key';
}

/** An If-Match value against a stored version: `W/"3"`, `"3"` or `*`. */
export function versionMatches(ifMatch: string, version: number): boolean {
  return ifMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === `"${version}"`;
  });
}

function staleVersion(id: string): JmlError {
  return new JmlError('precondition_failed', `User ${id} has changed since the version in If-Match: read it again`, { details: { id } });
}

/** The source's live identities and the leavers it produced within the window, for the guard. */
async function guardVerdict(trx: Db, deps: PushDeps, input: PushInput, diff: DiffResult, identities: Parameters<typeof pushMassChangeVerdict>[1]): Promise<MassChangeVerdict> {
  const minutes = inboundSource(deps.config, input.source).guard_window_minutes ?? DEFAULT_GUARD_WINDOW_MINUTES;
  if (!diff.events.some((e) => e.type === 'leaver')) return pushMassChangeVerdict(diff, identities, input.source, deps.config.mass_change, { active: 0, earlierLeavers: 0, minutes });
  const since = new Date(input.now.getTime() - minutes * 60_000).toISOString() as unknown as Date;
  const [active, earlier] = await Promise.all([
    trx.selectFrom('identities').select(sql<number>`count(*)::int`.as('n')).where('source', '=', input.source).where('status', 'in', ['active', 'suspended']).executeTakeFirstOrThrow(),
    trx.selectFrom('lifecycle_events').select(sql<number>`count(distinct identity_key)::int`.as('n')).where('source', '=', input.source).where('type', '=', 'leaver').where('state', '<>', 'rescinded').where('detected_at', '>=', since).executeTakeFirstOrThrow(),
  ]);
  return pushMassChangeVerdict(diff, identities, input.source, deps.config.mass_change, { active: active.n, earlierLeavers: earlier.n, minutes });
}

/** A held push changes nothing; the hold and the pushed resources are kept so a person can review and release it. */
async function recordHold(trx: Db, input: PushInput, prepared: PreparedPush, importId: string, snapshot: SourceSnapshot, diff: DiffResult, verdict: MassChangeVerdict): Promise<void> {
  const { content } = prepared;
  const at = input.now.toISOString();
  await trx
    .insertInto('imports')
    .values({
      id: importId, source: input.source, file_name: input.label, file_sha256: prepared.sha256, as_of: dateIn(input.now, 'UTC'),
      status: 'held', rows_total: snapshot.rowsTotal, rows_valid: snapshot.records.length, rows_invalid: 0,
      summary: JSON.stringify({ reason: verdict.message, counts: countEvents(diff) }), actor: input.actor, started_at: at,
    })
    .execute();
  await trx.insertInto('held_import_files').values({ import_id: importId, source: input.source, file_name: input.label, content, held_by: input.actor, held_at: at }).execute();
  await appendAudit(trx, { actor: input.actor, action: 'import.held', subject: `import:${importId}`, trigger: input.trigger, details: { source: input.source, push: input.label, reason: verdict.message, massChange: verdict } }, input.now);
}

/**
 * The push a person's release of a held one makes (the console's and
 * `jml scim release`'s path): the kept resources again, with the guard
 * lifted and without the versions they were checked against, applied to the
 * state as it is now.
 */
export function heldPushInput(source: string, content: string, actor: string, now: Date): PushInput {
  const kept = JSON.parse(content) as { users: PushedUser[]; deletes: PushedDelete[] };
  return { source, users: kept.users.map((u) => ({ ...u, ifMatch: null })), deletes: kept.deletes.map((d) => ({ ...d, ifMatch: null })), label: 'scim release', dryRun: false, allowMassChange: true, actor, trigger: 'release', now };
}
