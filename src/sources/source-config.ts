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
 *       manager: { column: Vorgesetzter, by: email }   # id | email | name ("Last, First")
 *       company: { const: ACME GmbH }
 *       display_name: { template: "{Vorname} {Nachname}" }
 *       cost_center: null                        # drop a default field
 * ```
 *
 * The user's mapping is laid over the source type's defaults field by field.
 * A column the user names must exist in the file; a default column that the
 * file lacks is required only when its field is (key, names, start date).
 * Realistic mappings for common HR exports are in source-config.test.ts.
 */
import { z } from 'zod';
import { IDENTITY_KINDS, type IdentityKind } from '../domain/identity.ts';
import type { RecordStatus } from './source-record.ts';
import { isSupportedDateFormat } from './date-format.ts';

const RECORD_STATUSES: readonly RecordStatus[] = ['active', 'suspended', 'terminated'];

export const SOURCE_TYPES = ['hr', 'vendor', 'nhi'] as const;
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
] as const;

/** Fields that reference another identity; only these take `by`. */
export const REFERENCE_FIELDS = ['manager', 'sponsor', 'owner'] as const;
export type ReferenceField = (typeof REFERENCE_FIELDS)[number];
export type ReferenceMode = 'id' | 'email' | 'name';

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

const dateFormat = z.string().refine(isSupportedDateFormat, {
  message: 'unsupported date format: use iso or tokens YYYY MM DD HH hh mm ss A Z (e.g. MM/DD/YYYY HH:mm)',
});

const columnMapping = z
  .object({
    column: z.string().min(1),
    format: dateFormat.optional(),
    map: z.record(z.string(), z.string()).optional(),
    by: z.enum(['id', 'email', 'name']).optional(),
  })
  .strict();
const fieldMapping = z.union([
  z.string().min(1),
  columnMapping,
  z.object({ const: z.string() }).strict(),
  z.object({ template: z.string().regex(/\{[^}]+\}/, 'a template names at least one {column}') }).strict(),
  z.null(),
]);

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
    mapping: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'field names are snake_case'), fieldMapping).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.format === 'yaml' && config.type !== 'nhi') {
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'only an nhi inventory may be YAML' });
    }
    for (const [field, m] of Object.entries(config.mapping)) {
      if (m === null || typeof m === 'string' || !('column' in m)) continue;
      if (m.format && !(DATE_FIELDS as readonly string[]).includes(field)) {
        ctx.addIssue({ code: 'custom', path: ['mapping', field, 'format'], message: `${field} is not a date field` });
      }
      if (m.by && !(REFERENCE_FIELDS as readonly string[]).includes(field)) {
        ctx.addIssue({ code: 'custom', path: ['mapping', field, 'by'], message: `${field} does not reference an identity` });
      }
      const allowed: readonly string[] | null =
        field === 'status' ? RECORD_STATUSES : field === 'kind' ? IDENTITY_KINDS : null;
      for (const [from, to] of Object.entries(m.map ?? {})) {
        if (allowed && !allowed.includes(to)) {
          ctx.addIssue({
            code: 'custom',
            path: ['mapping', field, 'map', from],
            message: `${field} maps to one of ${allowed.join(', ')}, not "${to}"`,
          });
        }
      }
    }
  });

/** A source configuration as written (before defaults). */
export type SourceConfigInput = z.input<typeof sourceConfigSchema>;
/** A validated source configuration. */
export type SourceConfig = z.output<typeof sourceConfigSchema>;
export type FieldMappingInput = z.output<typeof fieldMapping>;

/** Where one canonical field's value comes from, after defaults. */
export type FieldSource =
  | {
      readonly from: 'column';
      readonly column: string;
      readonly format: string | null;
      readonly map: ReadonlyMap<string, string> | null;
      readonly by: ReferenceMode;
    }
  | { readonly from: 'const'; readonly value: string }
  | { readonly from: 'template'; readonly template: string; readonly columns: readonly string[] };

export interface ResolvedField {
  readonly field: string;
  readonly source: FieldSource;
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

const DEFAULT_MAPPINGS: Readonly<Record<SourceType, Readonly<Record<string, FieldMappingInput>>>> = {
  hr: DEFAULT_HR_MAPPING,
  vendor: DEFAULT_VENDOR_MAPPING,
  nhi: DEFAULT_NHI_MAPPING,
};

/** Status words as HR systems write them; matched case-insensitively. */
export const DEFAULT_STATUS_MAP: Readonly<Record<string, RecordStatus>> = {
  active: 'active', a: 'active', '1': 'active', true: 'active', yes: 'active', employed: 'active', 'pre hire': 'active',
  terminated: 'terminated', t: 'terminated', inactive: 'terminated', i: 'terminated', '0': 'terminated',
  false: 'terminated', left: 'terminated', former: 'terminated', withdrawn: 'terminated', ended: 'terminated',
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

function valueMap(entries: Readonly<Record<string, string>>): Map<string, string> {
  return new Map(Object.entries(entries).map(([k, v]) => [normaliseMapKey(k), v]));
}

function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
}

function resolveField(field: string, m: Exclude<FieldMappingInput, null>, explicit: boolean): ResolvedField {
  if (typeof m === 'string') return resolveField(field, { column: m }, explicit);
  if ('const' in m) return { field, explicit, source: { from: 'const', value: m.const } };
  if ('template' in m) {
    return { field, explicit, source: { from: 'template', template: m.template, columns: templateColumns(m.template) } };
  }
  const defaults = field === 'status' ? DEFAULT_STATUS_MAP : field === 'kind' ? DEFAULT_KIND_MAP : {};
  const merged = { ...defaults, ...m.map };
  const isDate = (DATE_FIELDS as readonly string[]).includes(field);
  return {
    field,
    explicit,
    source: {
      from: 'column',
      column: m.column,
      format: m.format ?? (isDate ? 'iso' : null),
      map: Object.keys(merged).length > 0 ? valueMap(merged) : null,
      by: m.by ?? 'id',
    },
  };
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
    fields,
  };
}
