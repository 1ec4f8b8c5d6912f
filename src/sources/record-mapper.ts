/**
 * Rows of a source file → a validated SourceSnapshot. Pure: the configuration,
 * the organisation's time zone and the existing identities come in as values.
 *
 * Every problem becomes a RowError naming file, row, the file's column and the
 * reason; a row with any error is left out of `records` (its key goes to
 * `invalidKeys` so a diff never mistakes it for a leaver).
 */
import { IDENTITY_KINDS, NON_HUMAN_KINDS, type IdentityKind } from '../domain/identity.ts';
import type { CredentialRecord, IdentityDirectory, RecordStatus, RowError, SourceRecord, SourceSnapshot } from './source-record.ts';
import { BROKEN_CHARACTER, type SourceRow, type SourceTable } from './source-table.ts';
import { DATE_FIELDS, DEFAULT_KIND_MAP, STRUCTURAL_FIELDS, normaliseMapKey, type ResolvedSourceConfig } from './source-config.ts';
import { createRowReader, type RowReader } from './row-reader.ts';
import { checkColumns } from './mapping-columns.ts';
import { parseCalendarDate } from './date-format.ts';
import { createReferenceResolver, type FilePerson, type ReferenceResolver } from './reference-resolver.ts';
import { readCredentials } from './credential-mapper.ts';

export interface MapOptions {
  /** The source's name in the configuration (hr, vendor, …). */
  readonly source: string;
  readonly config: ResolvedSourceConfig;
  /** The organisation's IANA time zone: dates with a zone become calendar dates there. */
  readonly timezone: string;
  /** Existing identities, for manager/sponsor/owner references to people not in this file. */
  readonly directory: IdentityDirectory;
  /** The import's date (YYYY-MM-DD) in the organisation's time zone: what `from_dates` compares with. */
  readonly asOf?: string;
  /**
   * A manager reference that names nobody is kept rather than refused: the
   * record's `manager` stays empty and the reference is kept as
   * `manager_unresolved` until the manager arrives. For pushed sources, whose
   * clients send people in any order and do not retry a refusal.
   */
  readonly keepUnknownManagers?: boolean;
}

/** The attribute holding a manager reference that named nobody when the record was read (see `keepUnknownManagers`). */
export const UNRESOLVED_MANAGER = 'manager_unresolved';

const STATUSES: readonly string[] = ['active', 'pending', 'suspended', 'terminated'];
/** A NUL byte or a UTF-16 surrogate without its pair (as is, or as a reader marked it): no database stores them as text. */
/** A cheap first look: only a value with one of these characters can be unstorable. */
const SUSPECT = new RegExp(`[\u0000\uD800-\uDFFF${BROKEN_CHARACTER}]`);
const UNSTORABLE = new RegExp(`\u0000|${BROKEN_CHARACTER}|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]`);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NOT_ATTRIBUTES: ReadonlySet<string> = new Set(STRUCTURAL_FIELDS);
/** Date fields kept as attributes (last_day_worked): stored as ISO dates, like start and end. */
const DATE_ATTRIBUTES: ReadonlySet<string> = new Set(DATE_FIELDS.filter((f) => !NOT_ATTRIBUTES.has(f)));

/** One row on its way to a record; errors accumulate before anything is decided. */
interface Draft {
  readonly source: SourceRow;
  readonly errors: RowError[];
  key: string | null;
  kind: IdentityKind | null;
  status: RecordStatus;
  attributes: Record<string, string | null>;
  startDate: string | null;
  endDate: string | null;
  owner: string | null;
  sponsor: string | null;
  systems: string[] | undefined;
  credentials: CredentialRecord[] | undefined;
}

function fail(draft: Draft, read: RowReader, field: string | null, message: string): null {
  const column = field ? read.column(field) : null;
  draft.errors.push({ file: read.file, row: field ? read.line(field) : draft.source.row, column, message });
  return null;
}

function readDate(draft: Draft, read: RowReader, field: string, options: MapOptions): string | null {
  const v = read.value(field);
  if (v === null) return null;
  const format = read.format(field);
  return parseCalendarDate(v, format, options.timezone) ?? fail(draft, read, field, `invalid date "${v}" for format ${format}`);
}

/**
 * Garden leave: the last day worked may precede the termination date. Both
 * are kept; with `access_ends: last_day_worked` the identity's end date (when
 * the leaver takes effect) is the last day worked and the termination date
 * stays as the `termination_date` attribute.
 */
function applyLastDayWorked(draft: Draft, read: RowReader, config: ResolvedSourceConfig): void {
  const lastDay = draft.attributes.last_day_worked ?? null;
  if (lastDay === null) return;
  if (draft.startDate && lastDay < draft.startDate) {
    fail(draft, read, 'last_day_worked', `last day worked ${lastDay} is before start date ${draft.startDate}`);
  } else if (draft.endDate && lastDay > draft.endDate) {
    fail(draft, read, 'last_day_worked', `last day worked ${lastDay} is after the termination date ${draft.endDate}`);
  } else if (config.accessEnds === 'last_day_worked' && lastDay !== draft.endDate) {
    draft.attributes.termination_date = draft.endDate;
    draft.endDate = lastDay;
  }
}

/** `from_dates`: pending before the start, terminated after the end (the last day), active between. */
function statusFromDates(startDate: string | null, endDate: string | null, asOf: string): RecordStatus {
  if (startDate !== null && startDate > asOf) return 'pending';
  if (endDate !== null && endDate < asOf) return 'terminated';
  return 'active';
}

function readKind(draft: Draft, read: RowReader, type: ResolvedSourceConfig['type']): IdentityKind | null {
  const asKind = (v: string): IdentityKind | null => {
    const k = DEFAULT_KIND_MAP[normaliseMapKey(v)] ?? v;
    return (IDENTITY_KINDS as readonly string[]).includes(k) ? (k as IdentityKind) : null;
  };
  const kind = read.value('kind');
  if (kind !== null) return asKind(kind) ?? fail(draft, read, 'kind', `unknown kind "${read.raw('kind')}": add it to mapping.kind.map`);
  const employment = read.value('employment_type');
  if (employment !== null && type !== 'nhi') {
    return (
      asKind(employment) ??
      fail(draft, read, 'employment_type', `employment type "${employment}" is not mapped to a kind: add it to mapping.employment_type.map`)
    );
  }
  if (type === 'hr' || type === 'scim') return 'employee';
  if (type === 'vendor') return 'contractor';
  return fail(draft, read, 'kind', `kind missing (use ${NON_HUMAN_KINDS.join(', ')})`);
}

function readRow(row: SourceRow, options: MapOptions, file: string): { draft: Draft; read: RowReader } {
  const { config } = options;
  const read = createRowReader(row, config.fields, file);
  const draft: Draft = {
    source: row, errors: [], key: null, kind: null, status: 'active', attributes: {},
    startDate: null, endDate: null, owner: null, sponsor: null, systems: undefined, credentials: undefined,
  };
  // Over-long values first, and never echoed: one 15 MB cell must not reach the store, the diff or the error report.
  const tooLong = [...config.fields.keys()].filter((field) => (read.raw(field)?.length ?? 0) > config.maxValueLength);
  for (const field of tooLong) fail(draft, read, field, `value of ${read.raw(field)!.length} characters, longer than the limit of ${config.maxValueLength} (max_value_length in the source's configuration)`);
  for (const column in row.values) {
    const v = row.values[column] ?? '';
    if (!SUSPECT.test(v) || !UNSTORABLE.test(v)) continue;
    draft.errors.push({ file: read.file, row: row.lines?.[column] ?? row.row, column, message: 'value holds a NUL byte or a broken UTF-16 character: is the file binary, or exported in another encoding?' });
  }
  if (draft.errors.length > 0) {
    // The row is left out, but a key that can be stored still marks it as present (never a leaver under --skip-invalid).
    const key = read.value('key');
    if (key && !tooLong.includes('key') && !UNSTORABLE.test(key)) draft.key = key;
    return { draft, read };
  }
  for (const field of config.fields.keys()) {
    const problem = read.problem(field);
    if (problem) draft.errors.push({ file: read.file, row: row.row, column: problem.column, message: `${field}: ${problem.message}` });
  }
  draft.key = read.value('key') ?? fail(draft, read, 'key', 'key missing');
  draft.kind = readKind(draft, read, config.type);
  for (const field of config.fields.keys()) {
    if (NOT_ATTRIBUTES.has(field)) continue;
    draft.attributes[field] = DATE_ATTRIBUTES.has(field) ? readDate(draft, read, field, options) : read.value(field);
  }
  const human = draft.kind === null || !NON_HUMAN_KINDS.includes(draft.kind);
  const a = draft.attributes;
  if (human && !a.display_name && !(a.first_name && a.last_name)) {
    fail(draft, read, a.first_name ? 'last_name' : 'first_name', 'first and last name (or a display name) missing');
  }
  if (!human && !a.display_name) fail(draft, read, 'display_name', 'name missing');
  if (config.type === 'nhi' && draft.kind && human) {
    fail(draft, read, 'kind', `kind "${draft.kind}" is not a non-human kind (use ${NON_HUMAN_KINDS.join(', ')})`);
  }
  if (a.email && !EMAIL.test(a.email)) fail(draft, read, 'email', `invalid email "${a.email}"`);
  draft.startDate = readDate(draft, read, 'start_date', options);
  draft.endDate = readDate(draft, read, 'end_date', options);
  // A pushed record without a start date (most SCIM clients send none) starts when it arrives; a file must say when.
  if (config.type !== 'nhi' && config.type !== 'scim' && read.value('start_date') === null) fail(draft, read, 'start_date', 'start date missing');
  if (draft.startDate && draft.endDate && draft.endDate < draft.startDate) {
    fail(draft, read, 'end_date', `end date ${draft.endDate} is before start date ${draft.startDate}`);
  }
  applyLastDayWorked(draft, read, config);
  const status = read.value('status');
  if (status === 'from_dates') {
    if (!options.asOf) throw new Error('mapSourceTable: a status from_dates needs the import date (asOf)');
    draft.status = statusFromDates(draft.startDate, draft.endDate, options.asOf);
  } else if (status !== null) {
    if (STATUSES.includes(status)) draft.status = status as RecordStatus;
    else fail(draft, read, 'status', `unknown status "${read.raw('status') ?? status}": add it to mapping.status.map (as active, pending, suspended, terminated or from_dates)`);
  }
  if (config.type === 'nhi') {
    const systems = read.value('systems');
    draft.systems = systems ? systems.split(/[;,]/).map((s) => s.trim()).filter(Boolean) : [];
    draft.credentials = readCredentials(row, read, config.fields, options.timezone, (e) => draft.errors.push(e));
  }
  return { draft, read };
}

function resolveReferences(draft: Draft, read: RowReader, resolver: ReferenceResolver, config: ResolvedSourceConfig, keepUnknownManagers: boolean): void {
  const resolve = (field: 'manager' | 'sponsor' | 'owner'): string | null => {
    const v = read.value(field);
    const f = config.fields.get(field);
    if (v === null || !f) return null;
    const outcome = resolver.resolve(v, f.by, field);
    if ('key' in outcome) return outcome.key;
    if (field === 'manager' && outcome.unknown && keepUnknownManagers) {
      draft.attributes[UNRESOLVED_MANAGER] = v;
      return null;
    }
    return fail(draft, read, field, outcome.error);
  };
  if (read.has('manager')) draft.attributes.manager = resolve('manager');
  draft.owner = resolve('owner');
  draft.sponsor = resolve('sponsor');
  const kind = draft.kind;
  if (kind === 'contractor' || kind === 'contingent') {
    // An HR export names a contingent worker's manager, not a sponsor: the manager is accountable.
    draft.sponsor ??= draft.attributes.manager ?? null;
    if (!draft.sponsor && read.value('sponsor') === null && read.value('manager') === null) {
      const expected = (['sponsor', 'manager'] as const).filter((f) => read.has(f));
      const where = expected.map((f) => `${f} (column ${read.column(f) ?? '?'})`).join(' or ');
      fail(draft, read, expected[0] ?? null, expected.length > 0
        ? `a ${kind} needs a sponsor: ${where} is empty on this row`
        : `a ${kind} needs a sponsor: map sponsor (or manager) to a column in the source's mapping`);
    }
  }
  if (kind && NON_HUMAN_KINDS.includes(kind) && read.value('owner') === null) {
    fail(draft, read, 'owner', `a non-human identity needs an owner${read.has('owner') ? ` (column ${read.column('owner') ?? '?'} is empty)` : ': map owner to a column'}`);
  }
}

/** Every row sharing a key with another gets an error naming the others. */
function flagDuplicateKeys(drafts: readonly Draft[], readerOf: (draft: Draft) => RowReader): void {
  const byKey = new Map<string, Draft[]>();
  for (const d of drafts) if (d.key !== null) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
  for (const group of byKey.values()) {
    if (group.length < 2) continue;
    for (const d of group) {
      const others = group.filter((g) => g !== d).map((g) => g.source.row).join(', ');
      fail(d, readerOf(d), 'key', `duplicate key "${d.key}" (also on row ${others})`);
    }
  }
}

/**
 * An inventory CSV may list one credential per row, repeating the identity's
 * key: such a row adds a credential when its other fields are blank or repeat
 * the first row's.
 */
function isCredentialRow(read: RowReader, first: RowReader, fields: Iterable<string>): boolean {
  let carriesCredential = read.raw('credentials') !== null;
  for (const field of fields) {
    if (field.startsWith('credential')) carriesCredential ||= read.raw(field) !== null;
    else if (field !== 'key' && read.raw(field) !== null && read.raw(field) !== first.raw(field)) return false;
  }
  return carriesCredential;
}

/** A record's person as references between records see it (by key, email, name or display name). */
export function filePerson(key: string, attributes: Readonly<Record<string, string | null>>): FilePerson {
  return { key, email: attributes.email ?? null, firstName: attributes.first_name ?? null, lastName: attributes.last_name ?? null, displayName: attributes.display_name ?? null };
}

/**
 * Maps a read file to a snapshot: every row validated, references resolved
 * against the file and the directory, dates in the organisation's time zone.
 */
export function mapSourceTable(table: SourceTable, mapOptions: MapOptions): SourceSnapshot {
  const base = {
    source: mapOptions.source,
    file: table.file,
    rowsTotal: table.rowsTotal,
    fullSnapshot: mapOptions.config.fullSnapshot,
    ...(table.malformedRows ? { malformedRows: table.malformedRows } : {}),
  };
  if (table.rows.length === 0) return { ...base, records: [], errors: table.errors, invalidKeys: [] };
  const checked = checkColumns(table, mapOptions.config);
  if (checked.errors.length > 0) return { ...base, records: [], errors: [...table.errors, ...checked.errors], invalidKeys: [] };
  const config = { ...mapOptions.config, fields: checked.fields };
  const options = { ...mapOptions, config };
  const drafts: Draft[] = [];
  // A row's reader is made again from the row when a later pass needs it: kept for every row, the
  // readers and their caches of evaluated fields were the largest part of a 100,000-row file's mapping.
  const readerOf = (d: Draft) => createRowReader(d.source, config.fields, table.file);
  // Only an inventory's credential rows look back at the first row of their key.
  const firstByKey = new Map<string, { draft: Draft; read: RowReader }>();
  for (const row of table.rows) {
    if (config.type === 'nhi') {
      const read = createRowReader(row, config.fields, table.file);
      const first = firstByKey.get(read.value('key') ?? '');
      if (first && isCredentialRow(read, first.read, config.fields.keys())) {
        const more = readCredentials(row, read, config.fields, options.timezone, (e) => first.draft.errors.push(e));
        first.draft.credentials = [...(first.draft.credentials ?? []), ...more];
        continue;
      }
    }
    const mapped = readRow(row, options, table.file);
    drafts.push(mapped.draft);
    if (config.type === 'nhi' && mapped.draft.key !== null && !firstByKey.has(mapped.draft.key)) firstByKey.set(mapped.draft.key, mapped);
  }
  flagDuplicateKeys(drafts, readerOf);
  const resolver = createReferenceResolver(drafts.flatMap((d) => (d.key === null ? [] : [filePerson(d.key, d.attributes)])), options.directory);
  for (const d of drafts) resolveReferences(d, readerOf(d), resolver, config, options.keepUnknownManagers ?? false);
  const records: SourceRecord[] = [];
  const errors: RowError[] = [...table.errors];
  const invalidKeys = new Set<string>();
  for (const d of drafts) {
    errors.push(...d.errors);
    if (d.errors.length > 0 || d.key === null || d.kind === null) {
      if (d.key !== null) invalidKeys.add(d.key);
      continue;
    }
    records.push({
      key: d.key,
      row: d.source.row,
      kind: d.kind,
      status: d.status,
      attributes: d.attributes,
      startDate: d.startDate,
      endDate: d.endDate,
      owner: d.owner,
      sponsor: d.sponsor,
      ...(d.systems ? { systems: d.systems } : {}),
      ...(d.credentials ? { credentials: d.credentials } : {}),
    });
  }
  errors.sort((x, y) => x.row - y.row);
  return { ...base, records, errors, invalidKeys: [...invalidKeys] };
}
