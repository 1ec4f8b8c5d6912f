/**
 * The observed state the plan reads: for each system, the accounts, grants and
 * links of its latest completed reconcile run. Rows come ordered by account id
 * (byte order, identical on both backends) for accounts and grants alike, so
 * the engine pairs them with its merge walk instead of hashing every grant.
 */
import { sql, type Kysely } from 'kysely';
import type { Account, Grant } from '../domain/access.ts';
import type { AccountLink, ObservedSystem } from '../engine/index.ts';
import type { Database } from '../store/database.ts';

type Db = Kysely<Database>;

export interface SnapshotRun {
  readonly runId: string;
  readonly system: string;
  readonly finishedAt: Date;
  /** `apply`: the system was never reconciled; the snapshot holds only what apply confirmed. */
  readonly origin: 'reconcile' | 'apply';
}

const byteOrder = (column: string) => sql`${sql.ref(column)} collate "C"`;

/** The latest completed reconcile run of each system (of `systems` when given). */
export async function latestRuns(db: Db, systems?: readonly string[]): Promise<Map<string, SnapshotRun>> {
  if (systems && systems.length === 0) return new Map();
  let query = db
    .selectFrom('reconcile_runs')
    .select(['id', 'system', 'finished_at', 'summary'])
    .where('status', '=', 'completed')
    .orderBy('system')
    .orderBy('finished_at', 'desc');
  if (systems) query = query.where('system', 'in', systems);
  const runs = new Map<string, SnapshotRun>();
  for (const row of await query.execute()) {
    if (runs.has(row.system)) continue;
    const origin = row.summary?.origin === 'apply' ? 'apply' : 'reconcile';
    runs.set(row.system, { runId: row.id, system: row.system, finishedAt: row.finished_at!, origin });
  }
  return runs;
}

/** Accounts and grants of one run, in account order. */
export async function loadRun(db: Db, run: SnapshotRun): Promise<ObservedSystem & { readonly links: readonly AccountLink[] }> {
  const accountRows = await db
    .selectFrom('observed_accounts')
    .select(['account_id', 'name', 'enabled', 'attributes', 'last_login_at', 'identity_key', 'situation'])
    .where('run_id', '=', run.runId)
    .orderBy(byteOrder('account_id'))
    .execute();
  const grantRows = await db
    .selectFrom('observed_grants')
    .select(['account_id', 'entitlement'])
    .where('run_id', '=', run.runId)
    .orderBy(byteOrder('account_id'))
    .orderBy(byteOrder('entitlement'))
    .execute();
  const accounts: Account[] = accountRows.map((r) => observedAccount(run.system, r));
  const grants: Grant[] = grantRows.map((r) => ({ system: run.system, accountId: r.account_id, entitlement: r.entitlement }));
  // Groups listed by the connector (and those jml created since): a group without members exists too.
  const entitlementRows = await db.selectFrom('observed_entitlements').select('entitlement').where('run_id', '=', run.runId).orderBy(byteOrder('entitlement')).execute();
  const links: AccountLink[] = [];
  for (const r of accountRows) {
    // Only settled links: a disputed or unmatched account links nobody.
    if (r.identity_key !== null && (r.situation === 'linked' || r.situation === 'unlinked')) {
      links.push({ system: run.system, accountId: r.account_id, identityKey: r.identity_key });
    }
  }
  return { system: run.system, accounts, grants, entitlements: entitlementRows.map((r) => r.entitlement), links };
}

/** Observed state of every reconciled system (of `systems` when given), with the links reconciliation settled. */
export async function loadObserved(db: Db, systems?: readonly string[]): Promise<{ observed: ObservedSystem[]; links: AccountLink[]; runs: Map<string, SnapshotRun> }> {
  const runs = await latestRuns(db, systems);
  const observed: ObservedSystem[] = [];
  const links: AccountLink[] = [];
  for (const run of runs.values()) {
    const { links: runLinks, ...system } = await loadRun(db, run);
    observed.push(system);
    links.push(...runLinks);
  }
  return { observed, links, runs };
}

/** An observed account row as the engine's Account. */
export function observedAccount(system: string, row: { readonly account_id: string; readonly name: string; readonly enabled: boolean; readonly attributes: Account['attributes']; readonly last_login_at: string | null }): Account {
  return {
    system,
    accountId: row.account_id,
    name: row.name,
    enabled: row.enabled,
    attributes: row.attributes,
    ...(row.last_login_at !== null ? { lastLoginAt: row.last_login_at } : {}),
  };
}
