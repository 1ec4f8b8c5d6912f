/**
 * SCIM PATCH (RFC 7644 §3.5.2) applied to a stored User resource: add,
 * replace and remove, with a path (`title`, `name.givenName`, an extension's
 * `urn:…:User:department`, a value path `emails[type eq "work"].value`) or
 * without one (a value object, as Okta sends `{ op: replace, value: { active: false } }`).
 * Operation names are case-insensitive ("Replace", as Entra sends them).
 * Pure: returns the new resource, or throws a JmlError carrying SCIM's scimType.
 */
import { JmlError } from '../../domain/errors.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import { matchesScimFilter, parseAttributePath, parseScimFilter, type AttributePath, type ScimFilter } from './scim-filter.ts';

export interface PatchOperation {
  readonly op: string;
  readonly path?: string | undefined;
  readonly value?: unknown;
}

type Mutable = Record<string, unknown>;

/** Attributes a client may not change. */
const READ_ONLY = new Set(['id', 'meta']);

function scimError(scimType: 'invalidPath' | 'noTarget' | 'invalidValue' | 'mutability', message: string): JmlError {
  return new JmlError('invalid_input', message, { details: { scimType } });
}

/** The key an attribute has in this object, matched case-insensitively; the name itself when absent. */
function keyIn(object: Mutable, name: string): string {
  if (Object.hasOwn(object, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower) ?? name;
}

interface Target {
  readonly path: AttributePath;
  /** The value filter of a value path (`emails[type eq "work"]`). */
  readonly filter: ScimFilter | null;
}

/** `emails[type eq "work"].value` → path emails, filter, sub value; everything else is an attribute path. */
function parseTarget(text: string): Target {
  const open = text.indexOf('[');
  if (open < 0) return { path: parseAttributePath(text), filter: null };
  const close = text.lastIndexOf(']');
  if (close < open) throw scimError('invalidPath', `"${text}" is not a path`);
  const base = parseAttributePath(text.slice(0, open));
  const after = text.slice(close + 1);
  if (after !== '' && !/^\.[A-Za-z$][A-Za-z0-9_$-]*$/.test(after)) throw scimError('invalidPath', `"${text}" is not a path`);
  let filter: ScimFilter;
  try {
    filter = parseScimFilter(text.slice(open + 1, close));
  } catch (e) {
    throw scimError('invalidPath', `"${text}": ${(e as Error).message}`);
  }
  return { path: { ...base, sub: after === '' ? null : after.slice(1) }, filter };
}

/** The object holding a path's attribute: the resource, or its extension object (created for add/replace). */
function holderOf(resource: Mutable, path: AttributePath, create: boolean): Mutable | null {
  if (path.schema === null || path.schema.toLowerCase() === 'urn:ietf:params:scim:schemas:core:2.0:user') return resource;
  const key = keyIn(resource, path.schema);
  const existing = resource[key];
  if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as Mutable;
  if (!create) return null;
  const made: Mutable = {};
  resource[key] = made;
  return made;
}

/** A value-path filter of the form `type eq "work"` gives the element to add when none matches (what Entra expects). */
function newElementFor(filter: ScimFilter): Mutable | null {
  if (filter.op === 'eq' && filter.path.sub === null && filter.path.schema === null && typeof filter.value !== 'object') return { [filter.path.attribute]: filter.value };
  return null;
}

function setValue(holder: Mutable, attribute: string, value: unknown, op: 'add' | 'replace'): void {
  const key = keyIn(holder, attribute);
  const current = holder[key];
  if (op === 'add' && Array.isArray(current) && Array.isArray(value)) holder[key] = [...current, ...value];
  else if (op === 'add' && current && typeof current === 'object' && !Array.isArray(current) && value && typeof value === 'object' && !Array.isArray(value)) holder[key] = { ...current, ...value };
  else holder[key] = value;
}

function applyWithPath(resource: Mutable, op: 'add' | 'replace' | 'remove', text: string, value: unknown): void {
  const { path, filter } = parseTarget(text);
  if (path.schema === null && READ_ONLY.has(path.attribute.toLowerCase())) throw scimError('mutability', `${path.attribute} cannot be changed`);
  const holder = holderOf(resource, path, op !== 'remove');
  if (!holder) return;
  const key = keyIn(holder, path.attribute);
  if (filter === null) {
    if (path.sub === null) {
      if (op === 'remove') delete holder[key];
      else setValue(holder, path.attribute, value, op);
      return;
    }
    const parent = holder[key];
    if (op === 'remove') {
      if (parent && typeof parent === 'object' && !Array.isArray(parent)) delete (parent as Mutable)[keyIn(parent as Mutable, path.sub)];
      return;
    }
    const object: Mutable = parent && typeof parent === 'object' && !Array.isArray(parent) ? { ...(parent as Mutable) } : {};
    object[keyIn(object, path.sub)] = value;
    holder[key] = object;
    return;
  }
  const list = Array.isArray(holder[key]) ? [...(holder[key] as unknown[])] : [];
  const matches = (item: unknown) => Boolean(item) && typeof item === 'object' && matchesScimFilter(item as ScimObject, filter);
  if (op === 'remove') {
    holder[key] = path.sub === null ? list.filter((item) => !matches(item)) : list.map((item) => (matches(item) ? Object.fromEntries(Object.entries(item as Mutable).filter(([k]) => k.toLowerCase() !== path.sub!.toLowerCase())) : item));
    return;
  }
  let hit = false;
  const updated = list.map((item) => {
    if (!matches(item)) return item;
    hit = true;
    if (path.sub === null) return value && typeof value === 'object' && !Array.isArray(value) ? { ...(item as Mutable), ...(value as Mutable) } : value;
    const copy = { ...(item as Mutable) };
    copy[keyIn(copy, path.sub)] = value;
    return copy;
  });
  if (!hit) {
    const element = newElementFor(filter);
    if (!element) throw scimError('noTarget', `no value of ${path.attribute} matches ${text}`);
    updated.push(path.sub === null ? { ...element, ...(value as Mutable) } : { ...element, [path.sub]: value });
  }
  holder[key] = updated;
}

function applyWithoutPath(resource: Mutable, op: 'add' | 'replace', value: unknown): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw scimError('invalidValue', `${op} without a path needs an object of attributes as its value`);
  for (const [name, v] of Object.entries(value as Mutable)) {
    if (READ_ONLY.has(name.toLowerCase()) || name.toLowerCase() === 'schemas') continue;
    // An extension given as an object merges into it; `urn:…:User:department` or `name.givenName` as a key is a path.
    if (name.toLowerCase().startsWith('urn:') && v && typeof v === 'object' && !Array.isArray(v) && !/:[A-Za-z$][\w$-]*\.[\w$-]+$/.test(name)) {
      const holder = holderOf(resource, { schema: name, attribute: 'x', sub: null }, true)!;
      for (const [attribute, sub] of Object.entries(v as Mutable)) setValue(holder, attribute, sub, op);
    } else if (name.includes('.') || name.toLowerCase().startsWith('urn:')) applyWithPath(resource, op, name, v);
    else setValue(resource, name, v, op);
  }
}

/**
 * The resource after the operations, in order. The input is not changed.
 * @example applyScimPatch(user, [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada@example.com' }])
 */
export function applyScimPatch(resource: ScimObject, operations: readonly PatchOperation[]): ScimObject {
  const next = structuredClone(resource) as Mutable;
  for (const operation of operations) {
    const op = String(operation.op ?? '').toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw scimError('invalidValue', `unknown PATCH op "${operation.op}" (add, replace or remove)`);
    const path = typeof operation.path === 'string' && operation.path.trim() !== '' ? operation.path.trim() : null;
    if (op === 'remove') {
      if (path === null) throw scimError('noTarget', 'remove needs a path');
      applyWithPath(next, 'remove', path, undefined);
    } else if (path === null) applyWithoutPath(next, op, operation.value);
    else applyWithPath(next, op, path, operation.value);
  }
  return next;
}
