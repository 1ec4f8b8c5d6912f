/**
 * Between jml's flat account attributes and SCIM User resources (RFC 7643 §4.1).
 * Attribute names are SCIM paths (`userName`, `name.givenName`, `title`); the
 * well-known identity attribute names (`first_name`, `email`…) are accepted as
 * aliases. `email` stands for the primary work address in `emails`.
 */
import type { Account } from '../../domain/access.ts';

type AttributeValue = string | readonly string[] | null;

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const ALIASES: Readonly<Record<string, string>> = {
  user_name: 'userName',
  username: 'userName',
  display_name: 'displayName',
  first_name: 'name.givenName',
  last_name: 'name.familyName',
  title: 'title',
  email: 'email',
  emails: 'email',
  user_type: 'userType',
  locale: 'locale',
  preferred_language: 'preferredLanguage',
};

/** Attributes jml itself owns on an account; a change cannot set them through attributes. */
const MANAGED = new Set(['id', 'active', 'meta', 'schemas', 'groups']);
const PATH = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?$/;

export interface ScimPatchOperation {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** The SCIM path for an attribute name, or null when it is not a simple attribute path jml may write. */
export function scimPath(name: string, correlationAttribute: string): string | null {
  const path = ALIASES[name] ?? name;
  if (!PATH.test(path) || MANAGED.has(path) || path === correlationAttribute) return null;
  return path;
}

/** Splits change attributes into SCIM paths and names that cannot be written. */
export function toScimPaths(
  attributes: Readonly<Record<string, AttributeValue>>,
  correlationAttribute: string,
): { paths: Map<string, AttributeValue>; rejected: string[] } {
  const paths = new Map<string, AttributeValue>();
  const rejected: string[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    const path = scimPath(name, correlationAttribute);
    if (path === null) rejected.push(name);
    else paths.set(path, value);
  }
  return { paths, rejected };
}

/** The body of a POST /Users for these paths; null values are left out. */
export function userResource(paths: ReadonlyMap<string, AttributeValue>, correlationAttribute: string, identityKey: string): Record<string, unknown> {
  const user: Record<string, unknown> = { schemas: [USER_SCHEMA], active: true };
  setPath(user, correlationAttribute, identityKey);
  for (const [path, value] of paths) {
    if (value === null) continue;
    if (path === 'email') user.emails = emailsValue(value);
    else setPath(user, path, value);
  }
  return user;
}

/** PATCH operations that make the user's attributes equal these values (null removes). */
export function replaceOperations(paths: ReadonlyMap<string, AttributeValue>): ScimPatchOperation[] {
  return [...paths].map(([path, value]): ScimPatchOperation => {
    const target = path === 'email' ? 'emails' : path;
    if (value === null) return { op: 'remove', path: target };
    return { op: 'replace', path: target, value: path === 'email' ? emailsValue(value) : value };
  });
}

/** The account jml sees for a SCIM User: string attributes flattened to paths, `email` the primary address. */
export function toAccount(system: string, user: Record<string, unknown>): Account {
  const attributes: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(user)) {
    if (MANAGED.has(key)) continue;
    if (typeof value === 'string') attributes[key] = value;
    else if (key === 'emails' && Array.isArray(value)) attributes.email = primaryEmail(value);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, subValue] of Object.entries(value)) if (typeof subValue === 'string') attributes[`${key}.${sub}`] = subValue;
    }
  }
  return {
    system,
    accountId: String(user.id),
    name: typeof user.userName === 'string' ? user.userName : String(user.id),
    // RFC 7643 leaves `active` optional; a provider that omits it has no way to switch accounts off.
    enabled: user.active !== false,
    attributes,
  };
}

/** The paths whose values differ between what a change asks for and what the account holds. */
export function differingPaths(paths: ReadonlyMap<string, AttributeValue>, account: Account): string[] {
  const differs: string[] = [];
  for (const [path, wanted] of paths) {
    const held = account.attributes[path] ?? null;
    const wantedText = Array.isArray(wanted) ? wanted.join('\n') : wanted;
    const heldText = Array.isArray(held) ? held.join('\n') : held;
    if ((wantedText ?? null) !== (heldText ?? null)) differs.push(path);
  }
  return differs;
}

function emailsValue(value: string | readonly string[]): { value: string; type: string; primary: boolean }[] {
  const list = typeof value === 'string' ? [value] : value;
  return list.map((address, index) => ({ value: address, type: 'work', primary: index === 0 }));
}

function primaryEmail(emails: unknown[]): string | null {
  const entries = emails.filter((e): e is { value: string; primary?: boolean } => typeof (e as { value?: unknown })?.value === 'string');
  return (entries.find((e) => e.primary === true) ?? entries[0])?.value ?? null;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, sub] = path.split('.') as [string, string | undefined];
  if (sub === undefined) target[head] = value;
  else target[head] = { ...((target[head] as Record<string, unknown> | undefined) ?? {}), [sub]: value };
}
