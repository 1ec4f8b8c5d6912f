/**
 * How a stored User is answered: schemas, id, the resource, meta (with the
 * version its ETag repeats and its Location), and the `attributes` /
 * `excludedAttributes` projection and `sortBy` order of RFC 7644 §3.4.2.
 */
import type { StoredUser } from '../../app/inbound/scim-resource-store.ts';
import { parseAttributePath, valuesAt, type AttributePath } from '../../app/inbound/scim-filter.ts';
import { CORE_USER_SCHEMA, scimBoolean, type ScimObject } from '../../sources/scim-user-table.ts';

export const SCIM_MESSAGES = {
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  bulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  search: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  dryRun: 'urn:ietf:params:scim:api:messages:jml:2.0:DryRun',
} as const;

/** The weak ETag of a version: `W/"3"`. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The stored resource as a User resource: booleans as booleans (Entra's "False" is stored as sent), a manager as a complex value. */
export function toScimUser(user: StoredUser, location: string): ScimObject {
  const { schemas: _schemas, ...attributes } = user.resource as Record<string, unknown>;
  const schemas = [CORE_USER_SCHEMA, ...Object.keys(attributes).filter((k) => k.toLowerCase().startsWith('urn:'))];
  const out: Record<string, unknown> = { schemas, id: user.id, ...attributes };
  const active = scimBoolean(out.active);
  if (active !== undefined) out.active = active;
  for (const [key, value] of Object.entries(out)) {
    if (!key.toLowerCase().startsWith('urn:') || !value || typeof value !== 'object') continue;
    const extension = { ...(value as Record<string, unknown>) };
    const managerKey = Object.keys(extension).find((k) => k.toLowerCase() === 'manager');
    if (managerKey && typeof extension[managerKey] === 'string') extension[managerKey] = { value: extension[managerKey] };
    out[key] = extension;
  }
  out.meta = { resourceType: 'User', created: user.created, lastModified: user.lastModified, version: etagOf(user.version), location };
  return out;
}

/** Attributes always returned whatever the projection asks (RFC 7643 §7 "returned: always"). */
const ALWAYS = new Set(['id', 'schemas']);

function parseList(text: string | undefined): AttributePath[] {
  if (!text) return [];
  return text.split(',').map((t) => t.trim()).filter(Boolean).map(parseAttributePath);
}

function pathKeys(resource: Record<string, unknown>, path: AttributePath): { holder: Record<string, unknown>; key: string } | null {
  let holder: Record<string, unknown> = resource;
  if (path.schema !== null && path.schema.toLowerCase() !== CORE_USER_SCHEMA.toLowerCase()) {
    const ext = Object.keys(resource).find((k) => k.toLowerCase() === path.schema!.toLowerCase());
    if (!ext || !resource[ext] || typeof resource[ext] !== 'object') return null;
    holder = resource[ext] as Record<string, unknown>;
  }
  const key = Object.keys(holder).find((k) => k.toLowerCase() === path.attribute.toLowerCase());
  return key ? { holder, key } : null;
}

/**
 * The resource with only the `attributes` asked for (plus id and schemas), or
 * without the `excludedAttributes`. Unknown names select nothing.
 * @throws JmlError (invalidFilter) for a malformed attribute name.
 */
export function projectResource(resource: ScimObject, attributes: string | undefined, excluded: string | undefined): ScimObject {
  const wanted = parseList(attributes);
  const unwanted = parseList(excluded);
  const source = resource as Record<string, unknown>;
  if (wanted.length > 0) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) if (ALWAYS.has(key)) out[key] = source[key];
    for (const path of wanted) {
      const found = pathKeys(source, path);
      if (!found) continue;
      const target = found.holder === source ? out : ((out[Object.keys(source).find((k) => source[k] === found.holder)!] ??= {}) as Record<string, unknown>);
      const value = found.holder[found.key];
      if (path.sub === null) target[found.key] = value;
      else if (Array.isArray(value)) target[found.key] = value.map((v) => pick(v, path.sub!));
      else if (value && typeof value === 'object') target[found.key] = { ...(target[found.key] as object | undefined), ...pick(value, path.sub) };
    }
    return out;
  }
  if (unwanted.length === 0) return resource;
  const out = structuredClone(source);
  for (const path of unwanted) {
    if (path.schema === null && ALWAYS.has(path.attribute)) continue;
    const found = pathKeys(out, path);
    if (!found) continue;
    if (path.sub === null) delete found.holder[found.key];
    else {
      const value = found.holder[found.key];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v && typeof v === 'object') for (const k of Object.keys(v)) if (k.toLowerCase() === path.sub.toLowerCase()) delete (v as Record<string, unknown>)[k];
      }
    }
  }
  return out;
}

function pick(value: unknown, sub: string): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {};
  const key = Object.keys(value).find((k) => k.toLowerCase() === sub.toLowerCase());
  return key ? { [key]: (value as Record<string, unknown>)[key] } : {};
}

/** Resources ordered by an attribute (its first value, case-insensitively); those without it come last either way. */
export function sortResources(resources: readonly ScimObject[], sortBy: string, order: 'ascending' | 'descending'): ScimObject[] {
  const path = parseAttributePath(sortBy);
  const keyed = resources.map((r) => {
    const v = valuesAt(r, path)[0];
    const sortable = v && typeof v === 'object' ? (v as Record<string, unknown>).value : v;
    return { r, key: sortable === undefined || sortable === null ? null : String(sortable).toLowerCase() };
  });
  const sign = order === 'descending' ? -1 : 1;
  keyed.sort((a, b) => (a.key === null ? (b.key === null ? 0 : 1) : b.key === null ? -1 : a.key < b.key ? -sign : a.key > b.key ? sign : 0));
  return keyed.map((k) => k.r);
}
