/**
 * Pushed User resources as the client last sent them (table scim_resources):
 * what GET answers, what PATCH applies to, and the version an ETag is made
 * of. A version changes only when the resource does, so a retried request
 * leaves the ETag as it was.
 */
import { sql, type Kysely } from 'kysely';
import { canonicalJson } from '../../domain/canonical-json.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import type { Database } from '../../store/database.ts';

type Db = Kysely<Database>;

/** A stored User: the resource without id, meta or password, and its bookkeeping. */
export interface StoredUser {
  readonly id: string;
  readonly resource: ScimObject;
  readonly version: number;
  readonly created: string;
  readonly lastModified: string;
  readonly present: boolean;
}

export interface StoredVersion {
  readonly version: number;
  readonly present: boolean;
  readonly resource: ScimObject;
  readonly created: string;
  readonly lastModified: string;
}

/** Attributes never stored: the server's own (id, meta) and secrets (a password is not jml's to keep). */
const NOT_STORED = new Set(['id', 'meta', 'password']);

/** Attribute names as RFC 7643 spells them, so a client's "USERNAME" is stored (and found) as userName. */
const CANONICAL_NAMES = new Map(
  ['schemas', 'externalId', 'userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates'].map((n) => [n.toLowerCase(), n]),
);

/** The stored spelling of a core attribute name (`USERNAME` → `userName`); undefined for a name stored as the client sent it. */
export function canonicalAttributeName(name: string): string | undefined {
  return CANONICAL_NAMES.get(name.toLowerCase());
}

/** The resource as stored: without id, meta and password, top-level names in their canonical spelling. */
export function storableResource(resource: ScimObject): ScimObject {
  return Object.fromEntries(Object.entries(resource).filter(([k]) => !NOT_STORED.has(k.toLowerCase())).map(([k, v]) => [CANONICAL_NAMES.get(k.toLowerCase()) ?? k, v]));
}

export interface ResourceWrite {
  /** The operation's position in its push. */
  readonly index: number;
  readonly id: string;
  /** The new resource; null for a deletion. */
  readonly resource: ScimObject | null;
  readonly present: boolean;
}

/** Writes the resources of an applied push in one statement; returns the stored User per operation index. */
export async function writeScimResources(db: Db, source: string, now: Date, before: ReadonlyMap<string, StoredVersion>, writes: readonly ResourceWrite[]): Promise<Map<number, StoredUser>> {
  const at = now.toISOString();
  const out = new Map<number, StoredUser>();
  const rows: { source: string; id: string; resource: string; version: number; present: boolean; created_at: string; updated_at: string }[] = [];
  const latest = new Map(before);
  for (const w of writes) {
    const old = latest.get(w.id);
    const resource = w.resource === null ? (old?.resource ?? {}) : storableResource(w.resource);
    const unchanged = old !== undefined && old.present === w.present && canonicalJson(old.resource) === canonicalJson(resource);
    const version = unchanged ? old.version : (old?.version ?? 0) + 1;
    // A deletion keeps the creation time; a create after a deletion starts anew.
    const created = old && (old.present || !w.present) ? old.created : at;
    const lastModified = unchanged ? old.lastModified : at;
    latest.set(w.id, { version, present: w.present, resource, created, lastModified });
    out.set(w.index, { id: w.id, resource, version, created, lastModified, present: w.present });
    if (!unchanged) rows.push({ source, id: w.id, resource: JSON.stringify(resource), version, present: w.present, created_at: created, updated_at: at });
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  if (byId.size > 0) {
    await db
      .insertInto('scim_resources')
      .values([...byId.values()])
      .onConflict((oc) => oc.columns(['source', 'id']).doUpdateSet((eb) => ({ resource: eb.ref('excluded.resource'), version: eb.ref('excluded.version'), present: eb.ref('excluded.present'), created_at: eb.ref('excluded.created_at'), updated_at: eb.ref('excluded.updated_at') })))
      .execute();
  }
  return out;
}

/** One present User of the source, or null. */
export async function readScimUser(db: Db, source: string, id: string): Promise<StoredUser | null> {
  const row = await db.selectFrom('scim_resources').selectAll().where('source', '=', source).where('id', '=', id).where('present', '=', true).executeTakeFirst();
  return row ? storedUserOf(row) : null;
}

/**
 * Present Users of the source, in id order. With `equals`, only those whose
 * attribute (userName case-insensitively, externalId or id exactly) has that
 * value — the lookups provisioning clients make before every create.
 */
export async function listScimUsers(db: Db, source: string, equals?: { readonly attribute: 'userName' | 'externalId' | 'id'; readonly value: string }): Promise<StoredUser[]> {
  let q = db.selectFrom('scim_resources').selectAll().where('source', '=', source).where('present', '=', true);
  if (equals?.attribute === 'userName') q = q.where(sql`lower(resource->>'userName')`, '=', equals.value.toLowerCase());
  if (equals?.attribute === 'externalId') q = q.where(sql`resource->>'externalId'`, '=', equals.value);
  if (equals?.attribute === 'id') q = q.where('id', '=', equals.value);
  const rows = await q.orderBy('id').execute();
  return rows.map(storedUserOf);
}

/** A scim_resources row as a StoredUser. */
export function storedUserOf(row: { id: string; resource: Record<string, unknown>; version: number; created_at: Date; updated_at: Date; present: boolean }): StoredUser {
  return { id: row.id, resource: row.resource, version: row.version, created: row.created_at.toISOString(), lastModified: row.updated_at.toISOString(), present: row.present };
}
