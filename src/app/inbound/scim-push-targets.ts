/**
 * What a push reads before it maps and diffs, in one statement (one round
 * trip) under the source's lock: the stored resources of the ids it names,
 * the Users already holding the userNames it claims, and — when the source
 * maps a manager — the Users kept with a manager reference that named nobody
 * (a push bringing that manager maps them again).
 */
import { sql, type Kysely } from 'kysely';
import { UNRESOLVED_MANAGER } from '../../sources/record-mapper.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import type { Database } from '../../store/database.ts';
import type { StoredVersion } from './scim-resource-store.ts';

/** A present User waiting for the manager its reference names. */
export interface WaitingUser {
  readonly id: string;
  /** The manager reference as the source sent it. */
  readonly reference: string;
}

export interface PushTargets {
  /** By id: the stored resource and its version, deleted ones included. */
  readonly stored: Map<string, StoredVersion>;
  /** Lower-cased userName → the id of the present User holding it (userName is caseExact false, RFC 7643 §4.1.1). */
  readonly nameHolders: Map<string, string>;
  readonly waiting: readonly WaitingUser[];
}

type ResourceRow = { id: string; version: number; present: boolean; resource: ScimObject; created_at: string; updated_at: string; name: string | null };

/**
 * Reads a push's targets in the source: `ids` (the keys it writes or deletes),
 * `userNames` (compared case-insensitively, unique within the source), and the
 * waiting Users when `withWaiting` (the source maps a manager). The stored
 * resources of other ids (the waiting Users a push resolves) are read the same way, with no userNames.
 * @example const { stored, nameHolders } = await loadPushTargets(trx, 'entra', ['E1'], ['e1@example.com'], true);
 */
export async function loadPushTargets(db: Kysely<Database>, source: string, ids: readonly string[], userNames: readonly string[], withWaiting: boolean): Promise<PushTargets> {
  return pushTargetsOf(await pushTargetsQuery(db, source, ids, userNames, withWaiting).executeTakeFirstOrThrow(), ids, userNames);
}

/** What the statement of loadPushTargets answers: one row of JSON arrays. */
export interface PushTargetsRow {
  readonly resources: ResourceRow[] | null;
  readonly waiting: WaitingUser[] | null;
}

/** The statement of loadPushTargets, unsent: a push sends it in one statement with its state's (scim-push.ts). */
export function pushTargetsQuery(db: Kysely<Database>, source: string, ids: readonly string[], userNames: readonly string[], withWaiting: boolean) {
  const names = [...new Set(userNames.map((n) => n.toLowerCase()))];
  // A literal, not a parameter: the partial index source_records_manager_unresolved (migration 0036) matches it.
  const unresolved = sql`r.data->>${sql.lit(UNRESOLVED_MANAGER)}`;
  return db
    .with('res', (q) =>
      q
        .selectFrom('scim_resources')
        .select(['id', 'version', 'present', 'resource', 'created_at', 'updated_at', sql<string>`lower(resource->>'userName')`.as('name')])
        .where('source', '=', source)
        .where((eb) =>
          eb.or([
            eb('id', '=', sql<string>`ANY(${[...new Set(ids)]}::text[])`),
            eb.and([eb('present', '=', true), eb(sql`lower(resource->>'userName')`, '=', sql<string>`ANY(${names}::text[])`)]),
          ]),
        ),
    )
    .with('waiting', (q) =>
      q
        .selectFrom('source_records as r')
        // Without their resources: the planner cannot tell how few records wait (no statistics on the index's
        // predicate), and would plan a join as a scan of the source's resources. Few are ever resolved.
        .select(['r.record_key as id', sql<string>`${unresolved}`.as('reference')])
        .where('r.source', '=', source)
        .where('r.present', '=', true)
        .where(unresolved, 'is not', null)
        // Only a key new to the source can be the person a waiting reference names (scim-push.ts): when every key
        // named is stored and present (movers, retries) the waiting Users are not read at all. The planner scans the
        // whole source for them, so this spares that scan, under the source's lock, to all but pushes of newcomers.
        .where(sql<boolean>`EXISTS (SELECT 1 FROM unnest(${[...new Set(ids)]}::text[]) AS k(id) WHERE NOT EXISTS (SELECT 1 FROM res WHERE res.id = k.id AND res.present))`)
        .$if(!withWaiting, (w) => w.where(sql<boolean>`false`)),
    )
    .selectNoFrom([sql<PushTargetsRow['resources']>`(SELECT json_agg(res) FROM res)`.as('resources'), sql<PushTargetsRow['waiting']>`(SELECT json_agg(waiting) FROM waiting)`.as('waiting')]);
}

/** The targets a statement's row describes, for the ids and userNames it was asked about. */
export function pushTargetsOf(row: PushTargetsRow, ids: readonly string[], userNames: readonly string[]): PushTargets {
  const wanted = new Set(ids);
  const claimed = new Set(userNames.map((n) => n.toLowerCase()));
  const stored = new Map<string, StoredVersion>();
  const nameHolders = new Map<string, string>();
  for (const r of row.resources ?? []) {
    // Timestamps come as JSON text; stored versions carry them as ISO instants, as scim-resource-store.ts does.
    if (wanted.has(r.id)) stored.set(r.id, { version: r.version, present: r.present, resource: r.resource, created: new Date(r.created_at).toISOString(), lastModified: new Date(r.updated_at).toISOString() });
    if (r.present && r.name !== null && claimed.has(r.name)) nameHolders.set(r.name, r.id);
  }
  return { stored, nameHolders, waiting: row.waiting ?? [] };
}
