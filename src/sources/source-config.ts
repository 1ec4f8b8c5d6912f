/**
 * A source's configuration as written under `sources:` in jml.config.yaml,
 * and the defaults that make the issue's HR, vendor and inventory files work
 * without any mapping.
 *
 * A mapping names, for each canonical field, where its value comes from:
 *
 * ```yaml
 * sources:
 *   hr:
 *     type: hr
 *     delimiter: ";"
 *     encoding: windows-1252
 *     mapping:
 *       key: Personalnummer                      # a column
 *       start_date: { column: Eintritt, format: DD.MM.YYYY }
 *       status: { column: Status, map: { Aktiv: active, Ausgetreten: terminated } }
 *       manager: { column: Vorgesetzter, by: email }   # id | email | name | display_name | auto
 *       company: { const: ACME GmbH }
 *       display_name: { template: "{Vorname} {Nachname}" }
 *       end_date: { first_of: [Vertragsende, Austritt] }
 *       cost_center: null                        # drop a default field
 * ```
 *
 * The user's mapping is laid over the source type's defaults field by field.
 * A column the user names must exist in the file; a default column that the
 * file lacks is required only when its field is (key, names, start date).
 * The shapes of a field's mapping are in mapping-schema.ts; which field may
 * take which option is checked here (mappingIssues). docs/sources.md is the
 * user's reference, and a test keeps it in step with the schema.
 */
import { z } from 'zod';
import { IDENTITY_KINDS, type IdentityKind } from '../domain/identity.ts';
import type { RecordStatus } from './source-record.ts';
import { fieldMappingSchema, type Condition, type FieldMappingInput, type ReferenceMode, type ValueMappingInput } from './mapping-schema.ts';

export type { FieldMappingInput, ReferenceMode } from './mapping-schema.ts';

/** What a status may map to: a record status, or `from_dates` (derived from start and end date). */
const STATUS_TARGETS: readonly string[] = ['active', 'pending', 'suspended', 'terminated', 'from_dates'];

/** `scim`: an inbound source whose records are pushed over SCIM 2.0 (docs/inbound-scim.md), not read from a file. */
export const SOURCE_TYPES = ['hr', 'vendor', 'nhi', 'scim'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const SOURCE_ENCODINGS = ['utf-8', 'utf-16le', 'latin1', 'windows-1252'] as const;
export type SourceEncoding = (typeof SOURCE_ENCODINGS)[number];

/** Fields that hold dates; only these take a `format`. */
export const DATE_FIELDS = [
  'start_date',
  'end_date',
  'credential_created',
  'credential_last_rotated',
  'credential_expires',
  'last_day_worked',
] as const;

/** Fields that reference another identity; only these take `by`. */
export const REFERENCE_FIELDS = ['manager', 'sponsor', 'owner'] as const;
export type ReferenceField = (typeof REFERENCE_FIELDS)[number];

/** Fields only a non-human inventory reads. */
const NHI_FIELDS = ['systems', 'credentials', 'credential_system', 'credential_kind', 'credential_name', 'credential_created', 'credential_last_rotated', 'credential_expires'];

/**
 * Fields with a meaning beyond "attribute": everything else a mapping names
 * becomes an identity attribute of that name (department, title, custom ones).
 */
export const STRUCTURAL_FIELDS = [
  'key',
  'start_date',
  'end_date',
  'status',
  'kind',
  'owner',
  'sponsor',
  'systems',
  'credentials',
  'credential_system',
  'credential_kind',
  'credential_name',
  'credential_created',
  'credential_last_rotated',
  'credential_expires',
] as const;

/** Where a leaver takes effect when a row has both a termination date and an earlier last day worked. */
export const ACCESS_ENDS = ['end_date', 'last_day_worked'] as const;

/** How far back an inbound source's mass-change guard counts leavers unless `guard_window_minutes` says otherwise. */
export const DEFAULT_GUARD_WINDOW_MINUTES = 60;
/** The longest guard window a source may set: one week. */
export const MAX_GUARD_WINDOW_MINUTES = 7 * 24 * 60;

/** zod schema of one entry under `sources:`. */
export const sourceConfigSchema = z
  .object({
    type: z.enum(SOURCE_TYPES),
    format: z.enum(['csv', 'yaml']).default('csv'),
    delimiter: z.string().length(1).default(','),
    encoding: z.enum(SOURCE_ENCODINGS).default('utf-8'),
    headerRows: z.number().int().min(1).max(20).default(1),
    full_snapshot: z.boolean().default(true),
    /** Longest value one field of a row may hold, in characters; a longer one is a row error (nothing is imported). */
    max_value_length: z.number().int().min(1).max(1024 * 1024).default(1024),
    /** `last_day_worked`: garden leave ends access after the last day worked, not the later termination date. */
    access_ends: z.enum(ACCESS_ENDS).default('end_date'),
    /**
     * An inbound (`scim`) source's mass-change window: a push is held when the leavers the source produced in
     * this many minutes, with the push's own, exceed the threshold. A file is judged on its own, so only `scim` takes it.
     */
    guard_window_minutes: z.number().int().min(1).max(MAX_GUARD_WINDOW_MINUTES).optional(),
    mapping: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'field names are snake_case'), fieldMappingSchema).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.format === 'yaml' && config.type !== 'nhi') {
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'only an nhi inventory may be YAML' });
    }
    // A YAML inventory has neither delimiter nor header rows: a setting that would change nothing is refused.
    if (config.format === 'yaml' && (config.delimiter !== ',' || config.headerRows !== 1)) {
      ctx.addIssue({ code: 'custom', path: [config.delimiter !== ',' ? 'delimiter' : 'headerRows'], message: 'delimiter and headerRows apply to CSV files only' });
    }
    if (config.guard_window_minutes !== undefined && config.type !== 'scim') {
      ctx.addIssue({ code: 'custom', path: ['guard_window_minutes'], message: 'guard_window_minutes applies to a scim source only: a file is judged by the mass-change guard on its own' });
    }
    if (config.access_ends === 'last_day_worked' && !config.mapping.last_day_worked) {
      ctx.addIssue({ code: 'custom', path: ['access_ends'], message: 'access_ends: last_day_worked needs a last_day_worked field in the mapping' });
    }
    if (config.access_ends === 'last_day_worked' && config.mapping.termination_date) {
      ctx.addIssue({ code: 'custom', path: ['mapping', 'termination_date'], message: 'with access_ends: last_day_worked, termination_date is kept from end_date: map the termination date as end_date' });
    }
    for (const [field, m] of Object.entries(config.mapping)) {
      for (const issue of mappingIssues(field, m, config.type)) {
        ctx.addIssue({ code: 'custom', path: ['mapping', field, ...issue.path], message: issue.message });
      }
    }
  });

interface MappingIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Values a field's map, constants and case values may produce; null when any text is fine. */
function allowedValues(field: string): readonly string[] | null {
  if (field === 'status') return STATUS_TARGETS;
  if (field === 'kind') return [...IDENTITY_KINDS, ''];
  return null;
}

/** Options a field cannot honour, so that nothing accepted is silently ignored. */
function mappingIssues(field: string, m: FieldMappingInput, type: SourceType): MappingIssue[] {
  const issues: MappingIssue[] = [];
  if (m !== null && type !== 'nhi' && NHI_FIELDS.includes(field)) {
    issues.push({ path: [], message: `${field} is read only from an nhi inventory` });
  }
  if (m === null || typeof m === 'string') return issues;
  const isDate = (DATE_FIELDS as readonly string[]).includes(field);
  const allowed = allowedValues(field);
  const checkValue = (path: (string | number)[], value: string) => {
    if (allowed && !allowed.includes(value)) issues.push({ path, message: `${field} maps to one of ${allowed.filter(Boolean).join(', ')}, not "${value}"${value === '' ? ' (a status cannot be "no value")' : ''}` });
    if (value === 'from_dates' && field === 'status' && type === 'nhi') issues.push({ path, message: 'an nhi inventory has no start or end dates to derive a status from' });
  };
  const checkMap = (path: (string | number)[], map: Readonly<Record<string, string>> | undefined) => {
    for (const [from, to] of Object.entries(map ?? {})) checkValue([...path, 'map', from], to);
  };
  const checkPart = (path: (string | number)[], part: ValueMappingInput, stringIsConst: boolean) => {
    if (typeof part === 'string') {
      if (stringIsConst) checkValue(path, part);
      return;
    }
    if ('const' in part) return checkValue([...path, 'const'], part.const);
    if (part.format && !isDate) issues.push({ path: [...path, 'format'], message: `${field} is not a date field` });
    checkMap(path, part.map);
  };
  if ('by' in m && m.by && !(REFERENCE_FIELDS as readonly string[]).includes(field)) {
    issues.push({ path: ['by'], message: `${field} does not reference an identity` });
  }
  if ('from_dates' in m) {
    if (field !== 'status') issues.push({ path: ['from_dates'], message: 'only status can be derived from the dates' });
    else if (type === 'nhi') issues.push({ path: ['from_dates'], message: 'an nhi inventory has no start or end dates to derive a status from' });
    return issues;
  }
  if ('first_of' in m) {
    m.first_of.forEach((part, i) => checkPart(['first_of', i], part, false));
    checkMap([], m.map);
  } else if ('cases' in m) {
    m.cases.forEach((c, i) => checkPart(['cases', i, 'value'], c.value, true));
    if (m.default !== undefined) checkPart(['default'], m.default, true);
    checkMap([], m.map);
  } else checkPart([], m, false);
  return issues;
}

/** A source configuration as written (before defaults). */
export type SourceConfigInput = z.input<typeof sourceConfigSchema>;
/** A validated source configuration. */
export type SourceConfig = z.output<typeof sourceConfigSchema>;

/** File value → value, keys normalised with normaliseMapKey. A value of `""` means "no value". */
export type ValueMap = ReadonlyMap<string, string>;

/**
 * Where a value comes from, after defaults. `dates` stands for a status derived
 * from the start and end date.
 */
export type ValueSource =
  | { readonly from: 'column'; readonly column: string; readonly format: string | null; readonly map: ValueMap | null }
  | { readonly from: 'const'; readonly value: string }
  | { readonly from: 'template'; readonly template: string; readonly columns: readonly string[]; readonly format: string | null; readonly map: ValueMap | null }
  | { readonly from: 'first_of'; readonly parts: readonly ValueSource[]; readonly map: ValueMap | null }
  | {
      readonly from: 'cases';
      readonly cases: readonly { readonly when: Condition; readonly value: ValueSource }[];
      readonly fallback: ValueSource | null;
      readonly map: ValueMap | null;
    }
  | { readonly from: 'dates' };

export interface ResolvedField {
  readonly field: string;
  readonly source: ValueSource;
  /** How a reference field names the identity it points to. */
  readonly by: ReferenceMode;
  /** Named by the user (its columns must exist) rather than by the defaults. */
  readonly explicit: boolean;
}

/** Config plus the mapping with defaults applied, ready for the mapper. */
export interface ResolvedSourceConfig {
  readonly type: SourceType;
  readonly format: 'csv' | 'yaml';
  readonly delimiter: string;
  readonly encoding: SourceEncoding;
  readonly headerRows: number;
  readonly fullSnapshot: boolean;
  readonly maxValueLength: number;
  readonly accessEnds: (typeof ACCESS_ENDS)[number];
  readonly fields: ReadonlyMap<string, ResolvedField>;
}

/** Column headers of the issue's HR file. */
export const DEFAULT_HR_MAPPING: Readonly<Record<string, FieldMappingInput>> = {
  key: 'employee_id',
  first_name: 'first_name',
  last_name: 'last_name',
  email: 'email',
  department: 'department',
  title: 'title',
  manager: { column: 'manager_id', by: 'id' },
  location: 'location',
  employment_type: 'employment_type',
  start_date: { column: 'start_date', format: 'iso' },
  end_date: { column: 'end_date', format: 'iso' },
  status: 'status',
};

/** Column headers of the issue's vendor/contractor file. */
export const DEFAULT_VENDOR_MAPPING: Readonly<Record<string, FieldMappingInput>> = {
  key: 'contractor_id',
  first_name: 'first_name',
  last_name: 'last_name',
  email: 'email',
  company: 'company',
  sponsor: { column: 'sponsor_id', by: 'id' },
  start_date: { column: 'start_date', format: 'iso' },
  end_date: { column: 'contract_end', format: 'iso' },
  status: 'status',
  kind: { const: 'contractor' },
};

/**
 * Non-human identity inventory: one identity per key; credentials either in a
 * `credentials` column in YAML flow form, or one per row in the credential_*
 * columns with the identity's key repeated.
 */
export const DEFAULT_NHI_MAPPING: Readonly<Record<string, FieldMappingInput>> = {
  key: 'key',
  kind: 'kind',
  display_name: 'name',
  owner: { column: 'owner', by: 'id' },
  systems: 'systems',
  credentials: 'credentials',
  credential_system: 'credential_system',
  credential_kind: 'credential_kind',
  credential_name: 'credential_name',
  credential_created: { column: 'credential_created', format: 'iso' },
  credential_last_rotated: { column: 'credential_last_rotated', format: 'iso' },
  credential_expires: { column: 'credential_expires', format: 'iso' },
};

/**
 * SCIM User resources pushed to an inbound source, by their flattened names
 * (src/sources/scim-user-table.ts): the enterprise extension and jml's own
 * extension carry what an HR feed needs beyond the core schema. The key is the
 * client's externalId (Entra and Workday send the employee id there), else
 * the userName; a resource keeps the key it was created with.
 */
export const DEFAULT_SCIM_MAPPING: Readonly<Record<string, FieldMappingInput>> = {
  key: { first_of: ['externalId', 'userName'] },
  first_name: 'name.givenName',
  last_name: 'name.familyName',
  display_name: 'displayName',
  email: 'emails',
  title: 'title',
  department: 'enterprise.department',
  cost_center: 'enterprise.costCenter',
  company: 'enterprise.organization',
  division: 'enterprise.division',
  employee_number: 'enterprise.employeeNumber',
  manager: { column: 'enterprise.manager', by: 'id' },
  location: 'addresses.locality',
  employment_type: 'jml.employmentType',
  kind: 'jml.kind',
  start_date: { column: 'jml.startDate', format: 'iso' },
  end_date: { column: 'jml.endDate', format: 'iso' },
  status: { column: 'active', map: { true: 'active', false: 'terminated' } },
};

const DEFAULT_MAPPINGS: Readonly<Record<SourceType, Readonly<Record<string, FieldMappingInput>>>> = {
  hr: DEFAULT_HR_MAPPING,
  vendor: DEFAULT_VENDOR_MAPPING,
  nhi: DEFAULT_NHI_MAPPING,
  scim: DEFAULT_SCIM_MAPPING,
};

/** Status words as HR systems write them; matched case-insensitively. */
export const DEFAULT_STATUS_MAP: Readonly<Record<string, RecordStatus>> = {
  active: 'active', a: 'active', '1': 'active', true: 'active', yes: 'active', employed: 'active',
  // Signed but not started: a pending joiner, never a leaver.
  pending: 'pending', 'pre hire': 'pending', prehire: 'pending', hired: 'pending', onboarding: 'pending', accepted: 'pending',
  'offer accepted': 'pending',
  // No '0' or 'false': Workday's Active_Status=0 also marks a pre-hire, so a bare 0 must be mapped by the user.
  terminated: 'terminated', t: 'terminated', inactive: 'terminated', i: 'terminated', left: 'terminated', former: 'terminated', withdrawn: 'terminated', ended: 'terminated',
  leave: 'suspended', loa: 'suspended', suspended: 'suspended', 'on leave': 'suspended', 'leave of absence': 'suspended',
};

/**
 * Employment types and worker kinds as exports write them, to identity kinds.
 * Workday's "Contingent Worker" is a contractor (sponsored, time-bound);
 * `contingent` is kept for agency temps.
 */
export const DEFAULT_KIND_MAP: Readonly<Record<string, IdentityKind>> = {
  ...Object.fromEntries(IDENTITY_KINDS.map((k) => [normaliseMapKey(k), k])),
  'full time': 'employee', 'part time': 'employee', employee: 'employee', regular: 'employee', permanent: 'employee',
  'fixed term': 'employee', intern: 'employee', apprentice: 'employee', 'working student': 'employee',
  contractor: 'contractor', 'contingent worker': 'contractor', external: 'contractor', freelancer: 'contractor',
  consultant: 'contractor', vendor: 'contractor', 'independent contractor': 'contractor',
  temp: 'contingent', temporary: 'contingent', agency: 'contingent', 'agency worker': 'contingent',
  'service account': 'service_account', service: 'service_account', svc: 'service_account',
  'ai agent': 'ai_agent', agent: 'ai_agent', bot: 'ai_agent', app: 'integration', application: 'integration',
};

/** Value-map keys match case-insensitively and ignore `-`, `_` and repeated spaces. */
export function normaliseMapKey(value: string): string {
  return value.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
}

function valueMap(entries: Readonly<Record<string, string>> | undefined, defaults: Readonly<Record<string, string>> = {}): ValueMap | null {
  const merged = { ...defaults, ...entries };
  if (Object.keys(merged).length === 0) return null;
  return new Map(Object.entries(merged).map(([k, v]) => [normaliseMapKey(k), v]));
}

function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
}

/** Columns a value is read from, conditions included: they must exist in the file. */
export function sourceColumns(source: ValueSource): string[] {
  const ofCondition = (c: Condition): string[] =>
    'all' in c ? c.all.flatMap(ofCondition) : 'any' in c ? c.any.flatMap(ofCondition) : 'not' in c ? ofCondition(c.not) : [c.column];
  switch (source.from) {
    case 'column': return [source.column];
    case 'template': return [...source.columns];
    case 'first_of': return source.parts.flatMap(sourceColumns);
    case 'cases': return [...source.cases.flatMap((c) => [...ofCondition(c.when), ...sourceColumns(c.value)]), ...(source.fallback ? sourceColumns(source.fallback) : [])];
    default: return [];
  }
}

function resolveValue(m: ValueMappingInput, stringIsConst: boolean, isDate: boolean): ValueSource {
  if (typeof m === 'string') return stringIsConst ? { from: 'const', value: m } : resolveValue({ column: m }, false, isDate);
  if ('const' in m) return { from: 'const', value: m.const };
  const format = m.format ?? (isDate ? 'iso' : null);
  if ('template' in m) return { from: 'template', template: m.template, columns: templateColumns(m.template), format, map: valueMap(m.map) };
  return { from: 'column', column: m.column, format, map: valueMap(m.map) };
}

function resolveField(field: string, m: Exclude<FieldMappingInput, null>, explicit: boolean): ResolvedField {
  const isDate = (DATE_FIELDS as readonly string[]).includes(field);
  const defaults = field === 'status' ? DEFAULT_STATUS_MAP : field === 'kind' ? DEFAULT_KIND_MAP : {};
  const by = typeof m !== 'string' && 'by' in m && m.by ? m.by : 'id';
  const withDefaults = (source: ValueSource, map: Readonly<Record<string, string>> | undefined): ValueSource =>
    source.from === 'column' || source.from === 'template' || source.from === 'first_of' || source.from === 'cases'
      ? { ...source, map: valueMap(map, defaults) }
      : source;
  if (typeof m === 'string') return { field, explicit, by, source: withDefaults(resolveValue(m, false, isDate), undefined) };
  if ('from_dates' in m) return { field, explicit, by, source: { from: 'dates' } };
  if ('first_of' in m) {
    const parts = m.first_of.map((p) => resolveValue(p, false, isDate));
    return { field, explicit, by, source: withDefaults({ from: 'first_of', parts, map: null }, m.map) };
  }
  if ('cases' in m) {
    const cases = m.cases.map((c) => ({ when: c.when, value: resolveValue(c.value, true, isDate) }));
    const fallback = m.default === undefined ? null : resolveValue(m.default, true, isDate);
    return { field, explicit, by, source: withDefaults({ from: 'cases', cases, fallback, map: null }, m.map) };
  }
  if ('const' in m) return { field, explicit, by, source: resolveValue(m, false, isDate) };
  return { field, explicit, by, source: withDefaults(resolveValue(m, false, isDate), m.map) };
}
/**
 * Lays the user's mapping over the source type's defaults.
 * @example resolveSourceConfig(sourceConfigSchema.parse({ type: 'hr', mapping: { key: 'Employee ID' } }))
 */
export function resolveSourceConfig(config: SourceConfig): ResolvedSourceConfig {
  const fields = new Map<string, ResolvedField>();
  for (const [field, m] of Object.entries(DEFAULT_MAPPINGS[config.type])) {
    if (m !== null) fields.set(field, resolveField(field, m, false));
  }
  for (const [field, m] of Object.entries(config.mapping)) {
    if (m === null) fields.delete(field);
    else fields.set(field, resolveField(field, m, true));
  }
  return {
    type: config.type,
    format: config.format,
    delimiter: config.delimiter,
    encoding: config.encoding,
    headerRows: config.headerRows,
    fullSnapshot: config.full_snapshot,
    maxValueLength: config.max_value_length,
    accessEnds: config.access_ends,
    fields,
  };
}
