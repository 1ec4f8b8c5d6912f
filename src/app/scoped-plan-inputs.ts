/**
 * The engine's inputs for a plan scoped to a few identities (a replan after an
 * import of leavers, `jml plan --identity`): what those identities' changes can
 * depend on, and nothing else, so a replan for five leavers does not read every
 * identity and account of the organisation.
 *
 * What a scoped identity's changes read, and so what is loaded:
 * - the identity, its manager (ownership moves to an active manager), and the
 *   identities it owns or sponsors (their credentials and accounts);
 * - for systems correlating on an identity field other than the key, the
 *   identities sharing a value with those (a shared value links nobody);
 * - the accounts linked to those identities, and the accounts whose
 *   correlation value is theirs, with their grants; every group each system
 *   listed, and (when a template may create groups) every group anyone holds;
 * - their assignments, credentials, assets, lost reports, joiner holds and
 *   what jml assigned them before.
 * Orphan findings and groups jml created are left out: a scoped plan neither
 * disables orphans nor deletes groups (src/engine/plan.ts).
 * The plan computed from these equals the full plan restricted to the scope
 * (src/app/scoped-plan-inputs.test.ts checks it on random populations).
 */
import { sql, type Kysely } from 'kysely';
import type { Account, Grant } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { identityField } from '../engine/condition.ts';
import type { AccountLink, ObservedSystem } from '../engine/index.ts';
import type { Database } from '../store/database.ts';
import { identityFromRow } from '../store/identity-store.ts';
import { latestRuns, observedAccount, type SnapshotRun } from './observed-snapshot.ts';
import { byteOrder } from '../store/byte-order.ts';

type Db = Kysely<Database>;

/** Identity fields that are columns; any other field is an attribute. */
const COLUMN_FIELDS = new Set(['key', 'kind', 'status', 'source', 'start_date', 'end_date', 'owner', 'sponsor']);

/**
 * The identities a plan for `keys` reads: the scope and those related to it
 * (manager, owned, sponsored; sharing a correlation value), by key.
 */
export async function loadScopedIdentities(db: Db, policy: Policy, keys: readonly string[]): Promise<{ readonly identities: Identity[]; readonly related: ReadonlySet<string> }> {
  const scoped = await identitiesWhere(db, (q) => q.where('key', 'in', keys));
  const managers = [...new Set(scoped.map((i) => i.attributes.manager).filter((m): m is string => typeof m === 'string' && m !== ''))];
  const near = await identitiesWhere(db, (q) =>
    q.where((eb) => eb.or([eb('owner', 'in', keys), eb('sponsor', 'in', keys), ...(managers.length > 0 ? [eb('key', 'in', managers)] : [])])),
  );
  const byKey = new Map([...scoped, ...near].map((i) => [i.key, i]));
  const related = new Set(byKey.keys());
  for (const field of new Set(policy.systems.map((s) => s.correlation.identity))) {
    if (field === 'key') continue;
    const values = [...new Set([...related].map((k) => identityField(byKey.get(k)!, field)).filter((v): v is string => v !== null && v !== ''))];
    if (values.length === 0) continue;
    const sharing = COLUMN_FIELDS.has(field)
      ? await identitiesWhere(db, (q) => q.where(sql.ref(field), 'in', values))
      : await identitiesWhere(db, (q) => q.where(sql`attributes->>${field}`, 'in', values));
    for (const identity of sharing) byKey.set(identity.key, identity);
  }
  return { identities: [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), related };
}

/**
 * The observed accounts of each system's latest snapshot that can belong to
 * the `related` identities, with their grants and links; every group each
 * system lists, and with `heldGroups` every group any account holds.
 */
export async function loadScopedObserved(
  db: Db,
  policy: Policy,
  identities: readonly Identity[],
  related: ReadonlySet<string>,
  heldGroups: boolean,
): Promise<{ observed: ObservedSystem[]; links: AccountLink[]; runs: Map<string, SnapshotRun> }> {
  const runs = await latestRuns(db, policy.systems.map((s) => s.name));
  const relatedKeys = [...related];
  const known = new Set(identities.map((i) => i.key));
  const observed: ObservedSystem[] = [];
  const links: AccountLink[] = [];
  for (const run of runs.values()) {
    const correlation = policy.systems.find((s) => s.name === run.system)?.correlation ?? { account: 'externalId', identity: 'key' };
    const values = [...new Set(relatedKeys.map((k) => identityField(identities.find((i) => i.key === k)!, correlation.identity)).filter((v): v is string => v !== null && v !== ''))];
    const rows = await db
      .selectFrom('observed_accounts')
      .select(['account_id', 'name', 'enabled', 'attributes', 'last_login_at', 'identity_key', 'situation'])
      .where('run_id', '=', run.runId)
      .where((eb) =>
        eb.or([
          eb.and([eb('identity_key', 'in', relatedKeys), eb('situation', 'in', ['linked', 'unlinked'])]),
          ...(values.length > 0 ? [eb(correlationValue(correlation.account), 'in', values)] : []),
        ]),
      )
      .orderBy(byteOrder('account_id'))
      .execute();
    // An account settled on an identity outside these belongs to that identity, whatever it correlates to.
    const elsewhere = [...new Set(rows.filter((r) => settled(r) && !known.has(r.identity_key!)).map((r) => r.identity_key!))];
    const existing = elsewhere.length === 0 ? new Set<string>() : new Set((await db.selectFrom('identities').select('key').where('key', 'in', elsewhere).execute()).map((r) => r.key));
    const accountRows = rows.filter((r) => !(settled(r) && existing.has(r.identity_key!)));
    const ids = accountRows.map((r) => r.account_id);
    const grantRows = ids.length === 0 ? [] : await db
      .selectFrom('observed_grants')
      .select(['account_id', 'entitlement'])
      .where('run_id', '=', run.runId)
      .where('account_id', 'in', ids)
      .orderBy(byteOrder('account_id'))
      .orderBy(byteOrder('entitlement'))
      .execute();
    const listed = (await db.selectFrom('observed_entitlements').select('entitlement').where('run_id', '=', run.runId).execute()).map((r) => r.entitlement);
    const held = heldGroups ? (await db.selectFrom('observed_grants').select('entitlement').distinct().where('run_id', '=', run.runId).execute()).map((r) => r.entitlement) : [];
    const accounts: Account[] = accountRows.map((r) => observedAccount(run.system, r, r.name, r.attributes));
    const grants: Grant[] = grantRows.map((r) => ({ system: run.system, accountId: r.account_id, entitlement: r.entitlement }));
    observed.push({ system: run.system, accounts, grants, entitlements: [...new Set([...listed, ...held])].sort() });
    for (const r of accountRows) if (settled(r)) links.push({ system: run.system, accountId: r.account_id, identityKey: r.identity_key! });
  }
  return { observed, links, runs };
}

function settled(row: { readonly identity_key: string | null; readonly situation: string | null }): boolean {
  return row.identity_key !== null && (row.situation === 'linked' || row.situation === 'unlinked');
}

/** The SQL of an account's correlation value, as accountField reads it (a list gives its first value). */
function correlationValue(field: string) {
  if (field === 'name') return sql<string>`name`;
  if (field === 'accountId') return sql<string>`account_id`;
  return sql<string>`CASE jsonb_typeof(attributes->${field}) WHEN 'array' THEN attributes->${field}->>0 ELSE attributes->>${field} END`;
}

async function identitiesWhere(
  db: Db,
  filter: (query: ReturnType<typeof identitiesQuery>) => ReturnType<typeof identitiesQuery>,
): Promise<Identity[]> {
  return (await filter(identitiesQuery(db)).execute()).map(identityFromRow);
}

function identitiesQuery(db: Db) {
  return db.selectFrom('identities').selectAll().orderBy('key');
}
