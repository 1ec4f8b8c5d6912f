/**
 * SCIM User resources (RFC 7643 §4.1, the enterprise extension §4.3 and jml's
 * own extension) as source rows: a pushed resource is flattened into named
 * values, and the source's mapping reads those exactly as it reads a file's
 * columns. An inbound source is therefore validated, mapped and diffed by the
 * same code as a file (record-mapper.ts, snapshot-diff.ts).
 *
 * The flattened names ("columns" of a `scim` source):
 *   userName, externalId, displayName, title, userType, active, locale, …  core attributes
 *   name.givenName, name.familyName, …                                    sub-attributes of name
 *   emails, phoneNumbers                       the primary value, else type work, else the first
 *   emails.work, phoneNumbers.mobile, …        the value of that type
 *   addresses.locality, addresses.country, …   of the primary (else work, else first) address
 *   enterprise.department, enterprise.manager  the enterprise extension (manager: its value)
 *   jml.startDate, jml.endDate, jml.employmentType, jml.kind   jml's extension
 *   <schema URN>:<attribute>                   a simple attribute of any other extension
 * Pure.
 */
import type { SourceRow, SourceTable } from './source-table.ts';

export const CORE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const JML_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:jml:2.0:User';

/** Prefixes of the flattened names of the two extensions jml knows. */
const EXTENSION_PREFIX: Readonly<Record<string, string>> = { [ENTERPRISE_USER_SCHEMA.toLowerCase()]: 'enterprise', [JML_USER_SCHEMA.toLowerCase()]: 'jml' };

export const CORE_SIMPLE_ATTRIBUTES = ['userName', 'externalId', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'] as const;
export const NAME_ATTRIBUTES = ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'] as const;
export const ADDRESS_ATTRIBUTES = ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country'] as const;
export const ENTERPRISE_ATTRIBUTES = ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'] as const;
export const JML_ATTRIBUTES = ['startDate', 'endDate', 'employmentType', 'kind'] as const;

/** A JSON object as a SCIM client sends it. */
export type ScimObject = Readonly<Record<string, unknown>>;

/** The value of an attribute whose name matches case-insensitively (RFC 7643 §2.1: attribute names are case-insensitive). */
export function attributeOf(resource: ScimObject, name: string): unknown {
  if (Object.hasOwn(resource, name)) return resource[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(resource)) if (key.toLowerCase() === lower) return resource[key];
  return undefined;
}

/**
 * A SCIM boolean as clients send it: JSON true/false, or Entra's strings
 * "True"/"False" (any case). Anything else is not a boolean (undefined).
 */
export function scimBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return undefined;
}

/** Text of a simple value; numbers and booleans as JSON writes them; objects and arrays are not simple (undefined). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The entry of a multi-valued attribute that stands for it: primary, else type work, else the first. */
function representative(values: readonly ScimObject[]): ScimObject | undefined {
  return values.find((v) => scimBoolean(attributeOf(v, 'primary')) === true) ?? values.find((v) => String(attributeOf(v, 'type') ?? '').toLowerCase() === 'work') ?? values[0];
}

function objects(value: unknown): ScimObject[] {
  return Array.isArray(value) ? value.filter((v): v is ScimObject => v !== null && typeof v === 'object' && !Array.isArray(v)) : [];
}

/**
 * The flattened values of a User resource, by the names listed above. An
 * absent `active` reads as "true": a resource is active unless it says not.
 * @example flattenScimUser({ userName: 'ada', active: 'False', name: { givenName: 'Ada' } })
 *   // { userName: 'ada', active: 'false', 'name.givenName': 'Ada' }
 */
export function flattenScimUser(resource: ScimObject): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: unknown) => {
    const t = text(value);
    if (t !== undefined && t.trim() !== '') out[name] = t;
  };
  for (const attribute of CORE_SIMPLE_ATTRIBUTES) put(attribute, attributeOf(resource, attribute));
  const active = attributeOf(resource, 'active');
  out.active = active === undefined || active === null ? 'true' : (scimBoolean(active)?.toString() ?? String(text(active) ?? 'invalid'));
  const name = attributeOf(resource, 'name');
  if (name && typeof name === 'object') for (const sub of NAME_ATTRIBUTES) put(`name.${sub}`, attributeOf(name as ScimObject, sub));
  for (const plural of ['emails', 'phoneNumbers'] as const) {
    const values = objects(attributeOf(resource, plural));
    put(plural, representative(values) && attributeOf(representative(values)!, 'value'));
    for (const v of values) {
      const type = text(attributeOf(v, 'type'))?.toLowerCase();
      if (type && !(`${plural}.${type}` in out)) put(`${plural}.${type}`, attributeOf(v, 'value'));
    }
  }
  const address = representative(objects(attributeOf(resource, 'addresses')));
  if (address) for (const sub of ADDRESS_ATTRIBUTES) put(`addresses.${sub}`, attributeOf(address, sub));
  for (const [key, value] of Object.entries(resource)) {
    if (!key.toLowerCase().startsWith('urn:') || !value || typeof value !== 'object' || Array.isArray(value)) continue;
    const prefix = EXTENSION_PREFIX[key.toLowerCase()] ?? key;
    const separator = prefix === key ? ':' : '.';
    for (const [attribute, v] of Object.entries(value as ScimObject)) {
      const canonical = canonicalExtensionAttribute(prefix, attribute);
      if (prefix === 'enterprise' && canonical === 'manager') put('enterprise.manager', v && typeof v === 'object' ? attributeOf(v as ScimObject, 'value') : v);
      else put(`${prefix}${separator}${canonical}`, v);
    }
  }
  return out;
}

function canonicalExtensionAttribute(prefix: string, attribute: string): string {
  const known: readonly string[] = prefix === 'enterprise' ? ENTERPRISE_ATTRIBUTES : prefix === 'jml' ? JML_ATTRIBUTES : [];
  return known.find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? attribute;
}

/**
 * The full SCIM attribute path a flattened name stands for, for error
 * messages a SCIM client can act on (`jml.startDate` →
 * `urn:ietf:params:scim:schemas:extension:jml:2.0:User:startDate`).
 */
export function scimAttributePath(column: string): string {
  if (column.startsWith('enterprise.')) return `${ENTERPRISE_USER_SCHEMA}:${column.slice('enterprise.'.length)}`;
  if (column.startsWith('jml.')) return `${JML_USER_SCHEMA}:${column.slice('jml.'.length)}`;
  return column;
}

/**
 * Pushed resources as the table a source reader hands the mapper: one row per
 * resource, numbered from 1 in the order of the request (a Bulk operation's
 * position), named after the request.
 */
export function scimUserTable(label: string, resources: readonly ScimObject[]): SourceTable {
  const rows: SourceRow[] = resources.map((r, i) => ({ row: i + 1, values: flattenScimUser(r) }));
  return { file: label, columns: [], fixedColumns: false, headerRow: 0, delimiter: null, rowsTotal: rows.length, rows, errors: [] };
}
