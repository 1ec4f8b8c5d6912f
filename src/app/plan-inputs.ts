/**
 * The store's side of planning: identities as domain values, active request and
 * exception assignments, credentials, assets in custody, and what jml itself
 * created or granted before (for `relative` enforcement).
 */
import { sql, type Kysely } from 'kysely';
import type { Assignment, AssignmentReason, EntitlementRef } from '../domain/access.ts';
import type { Change, JoinerHold } from '../domain/change.ts';
import type { Credential, CredentialKind, Identity } from '../domain/identity.ts';
import type { HeldAsset, JmlAssigned, OrphanFinding } from '../engine/index.ts';
import type { LostAsset } from '../engine/lost-device-changes.ts';
import type { Database } from '../store/database.ts';
import { detached, forEachCopiedRow, type CopiedRow } from '../store/copy-read.ts';
import { IDENTITY_COLUMNS, identityFromRow } from '../store/identity-store.ts';

type Db = Kysely<Database>;

/** One identity's key, or several (a scoped plan's identities); absent: everyone. */
export type IdentityFilter = string | readonly string[] | undefined;

function keysOf(filter: string | readonly string[]): readonly string[] {
  return typeof filter === 'string' ? [filter] : filter;
}

/** Every identity (any status: leavers still have accounts to close), by key. */
export async function loadIdentities(db: Db, keys?: readonly string[]): Promise<Identity[]> {
  if (keys && keys.length === 0) return [];
  const query = db.selectFrom('identities').select(IDENTITY_COLUMNS).orderBy('key');
  if (keys) return (await query.where('key', 'in', keys).execute()).map(identityFromRow);
  // Everyone (a whole plan) as COPY text (src/store/copy-read.ts): one decode per row, not one per field and an
  // object per row first. Measured at 500,000 people: 1.23-1.53 s against 1.67-1.97 s through the row protocol.
  const identities: Identity[] = [];
  await forEachCopiedRow(db, query, (row) => identities.push(identityFromCopy(row)));
  return identities;
}

/** An identity from its COPY text, its columns in IDENTITY_COLUMNS order (the attributes' JSON parsed as the driver would). */
function identityFromCopy(row: CopiedRow): Identity {
  if (row.length !== IDENTITY_COLUMNS.length) throw new Error(`identities: a row of ${row.length} columns, ${IDENTITY_COLUMNS.length} expected`);
  const [key, kind, status, source, attributes, startDate, endDate, owner, sponsor] = row.map((field, i) => (i === 4 ? field : detached(field))) as [string, string, string, string, string, string | null, string | null, string | null, string | null];
  return identityFromRow({ key, kind, status, source, attributes: JSON.parse(attributes) as Identity['attributes'], start_date: startDate, end_date: endDate, owner, sponsor });
}

/** Active request and exception assignments; lapsed ones are filtered by the engine at `now`. */
export async function loadAssignments(db: Db, identityKeys?: IdentityFilter): Promise<Assignment[]> {
  if (identityKeys !== undefined && keysOf(identityKeys).length === 0) return [];
  let query = db.selectFrom('assignments').selectAll().where('state', '=', 'active').orderBy('id');
  if (identityKeys !== undefined) query = query.where('identity_key', 'in', keysOf(identityKeys));
  return (await query.execute()).map((r) => ({
    identityKey: r.identity_key,
    system: r.system,
    entitlement: r.entitlement,
    reason: r.reason as unknown as AssignmentReason,
    validFrom: r.valid_from === null ? null : r.valid_from.toISOString(),
    validTo: r.valid_to === null ? null : r.valid_to.toISOString(),
  }));
}

export async function loadCredentials(db: Db, identityKeys?: readonly string[]): Promise<Credential[]> {
  if (identityKeys?.length === 0) return [];
  let query = db.selectFrom('credentials').selectAll().orderBy('id');
  if (identityKeys) query = query.where('identity_key', 'in', identityKeys);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    identityKey: r.identity_key,
    system: r.system,
    kind: r.kind as CredentialKind,
    name: r.name,
    createdAt: r.created_at,
    lastRotatedAt: r.last_rotated_at,
    expiresAt: r.expires_at,
    status: r.status === 'revoked' ? 'revoked' : 'active',
  }));
}

/** Assets an identity holds now: a leaver gets a collect_asset change for each. */
export async function loadHeldAssets(db: Db, holderKeys?: readonly string[]): Promise<HeldAsset[]> {
  if (holderKeys?.length === 0) return [];
  let query = db
    .selectFrom('assets')
    .select(['tag', 'holder_key', 'description', 'kind', 'model'])
    .where('status', '=', 'assigned')
    .where('holder_key', 'is not', null)
    .orderBy('tag');
  if (holderKeys) query = query.where('holder_key', 'in', holderKeys);
  const rows = await query.execute();
  return rows.map((r) => ({ tag: r.tag, holderKey: r.holder_key!, kind: r.kind, ...(r.description ? { description: r.description } : {}), ...(r.model ? { model: r.model } : {}) }));
}

/**
 * What jml created or granted and has not since removed: the fold, in the order
 * they were confirmed, of confirmed account and grant changes of applied plans.
 * A change someone else had already made (`already`) is not jml's.
 */
export async function loadPreviouslyAssigned(db: Db, identityKeys?: readonly string[]): Promise<JmlAssigned[]> {
  if (identityKeys?.length === 0) return [];
  const rows = await confirmedChanges(db, ['create_account', 'delete_account', 'add_grant', 'remove_grant'], identityKeys ? { identityKeys } : {});
  const held = new Map<string, JmlAssigned>();
  for (const r of rows) {
    const granting = r.kind === 'create_account' || r.kind === 'add_grant';
    const entitlement = r.kind === 'create_account' || r.kind === 'delete_account' ? null : r.entitlement;
    const id = `${r.identity_key}\u0000${r.system}\u0000${entitlement ?? ''}`;
    if (granting) held.set(id, { identityKey: r.identity_key, system: r.system!, entitlement });
    else held.delete(id);
  }
  return [...held.values()];
}

/**
 * Groups jml created (a confirmed create_group) and has not deleted since: the
 * only groups an entitlement template's `remove_empty` may delete.
 */
export async function loadCreatedGroups(db: Db): Promise<EntitlementRef[]> {
  // At the same instant a deletion follows the creation: jml deletes only groups it created before.
  const rows = await confirmedChanges(db, ['create_group', 'delete_group'], { kindAtSameInstant: true });
  const created = new Map<string, EntitlementRef>();
  for (const r of rows) {
    if (r.entitlement === null) continue;
    const id = `${r.system}\u0000${r.entitlement}`;
    if (r.kind === 'create_group') created.set(id, { system: r.system!, entitlement: r.entitlement });
    else created.delete(id);
  }
  return [...created.values()];
}

/**
 * Confirmed changes of these kinds (with the system they name), in the order
 * they were confirmed; `kindAtSameInstant` orders changes confirmed at the same
 * instant by kind before plan and position.
 */
function confirmedChanges(db: Db, kinds: readonly Change['kind'][], options: { readonly kindAtSameInstant?: boolean; readonly identityKeys?: readonly string[] } = {}) {
  // The entitlement comes from the change's row: read from the plan document it cost the whole document per row.
  let query = db
    .selectFrom('plan_changes')
    .select(['plan_changes.kind', 'plan_changes.system', 'plan_changes.identity_key', 'plan_changes.entitlement'])
    .where('plan_changes.state', '=', 'confirmed')
    .where('plan_changes.kind', 'in', kinds)
    .where('plan_changes.system', 'is not', null)
    .orderBy('plan_changes.finished_at');
  if (options.identityKeys) query = query.where('plan_changes.identity_key', 'in', options.identityKeys);
  if (options.kindAtSameInstant) query = query.orderBy('plan_changes.kind');
  return query.orderBy('plan_changes.plan_id').orderBy('plan_changes.position').execute();
}

/**
 * Joiners whose activation waits for approval: a `joiner` request still
 * pending, or denied; an identity's newest such request is the one that holds
 * it. The planner holds their access (src/engine/joiner-hold.ts); this is the
 * only place that decides who is held, so every path plans alike, and the
 * identity page reads the same requests (newest first) in its own statement.
 */
export function joinerHoldRequests(db: Db) {
  return db.selectFrom('access_requests').select(['identity_key', 'id', 'state']).where('kind', '=', 'joiner').where('state', 'in', ['pending', 'denied']);
}

/** The joiner holds of these identities (all when omitted), one per identity: see joinerHoldRequests. */
export async function loadJoinerHolds(db: Db, identityKeys?: IdentityFilter): Promise<JoinerHold[]> {
  if (identityKeys !== undefined && keysOf(identityKeys).length === 0) return [];
  let query = joinerHoldRequests(db);
  if (identityKeys !== undefined) query = query.where('identity_key', 'in', keysOf(identityKeys));
  const rows = await query.orderBy('identity_key').orderBy('created_at', 'desc').execute();
  const holds = new Map<string, JoinerHold>();
  for (const r of rows) {
    if (!holds.has(r.identity_key)) holds.set(r.identity_key, { identityKey: r.identity_key, requestId: r.id, state: r.state as JoinerHold['state'] });
  }
  return [...holds.values()];
}

/** Open orphan findings with when each was first seen: the plan disables, under full enforcement, those past their grace period. */
export async function loadOrphanFindings(db: Db): Promise<OrphanFinding[]> {
  const rows = await db
    .selectFrom('findings')
    .select(['id', 'system', 'account_id', 'first_seen'])
    .where('kind', '=', 'orphan_account')
    .where('state', '=', 'open')
    .where('system', 'is not', null)
    .where('account_id', 'is not', null)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, system: r.system!, accountId: r.account_id!, firstSeen: r.first_seen.toISOString() }));
}

/** Open lost or stolen reports (the asset so marked, its `lost_asset` finding open) on assets someone held. */
export async function loadLostAssets(db: Db, holderKeys?: readonly string[]): Promise<LostAsset[]> {
  if (holderKeys?.length === 0) return [];
  let query = db
    .selectFrom('assets as a')
    .innerJoin('findings as f', (join) => join.on('f.id', '=', sql<string>`'lost_asset:asset:' || a.tag`))
    .select(['a.tag', 'a.serial', 'a.status', 'f.identity_key', 'f.first_seen'])
    .where('a.status', 'in', ['lost', 'stolen'])
    .where('f.state', '=', 'open')
    .where('f.identity_key', 'is not', null)
    .orderBy('a.tag');
  if (holderKeys) query = query.where('f.identity_key', 'in', holderKeys);
  const rows = await query.execute();
  return rows.map((r) => ({ tag: r.tag, serial: r.serial, holderKey: r.identity_key!, status: r.status as 'lost' | 'stolen', reportedAt: r.first_seen.toISOString() }));
}
