/**
 * The state of a simulated system, kept in jml's database (migration 0010):
 * accounts, groups, grants, live sessions and credentials. Every function
 * takes the handle to use, so a caller inside a transaction passes the
 * transaction. Account ids come from a per-system counter, like a real
 * system's opaque ids; lists are in byte order of their keys (identical on
 * both backends), which keyset cursors rely on.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Account, Grant } from '../../domain/access.ts';
import type { Database, SimAccountsTable } from '../../store/database.ts';
import type { EntitlementInfo } from '../connector.ts';
import { byteOrder } from '../../store/byte-order.ts';

type Db = Kysely<Database>;
type AttributeValue = string | readonly string[] | null;
export type SimAccount = Selectable<SimAccountsTable>;

/** Creates the system (idempotent) and the groups it starts with. */
export async function ensureSimulatedSystem(db: Db, system: string, groups: readonly string[] = []): Promise<void> {
  await db.insertInto('sim_systems').values({ system }).onConflict((oc) => oc.column('system').doNothing()).execute();
  if (groups.length > 0) await seedSimulatedGroups(db, system, groups);
}

/** Makes groups exist (idempotent). */
export async function seedSimulatedGroups(db: Db, system: string, groups: readonly string[]): Promise<void> {
  if (groups.length === 0) return;
  await db
    .insertInto('sim_groups')
    .values([...new Set(groups)].map((entitlement) => ({ system, entitlement, display_name: entitlement })))
    .onConflict((oc) => oc.columns(['system', 'entitlement']).doNothing())
    .execute();
}

/** An account by id, or the account created for an identity. */
export async function findSimulatedAccount(db: Db, system: string, target: { readonly accountId?: string | undefined; readonly identityKey: string }): Promise<SimAccount | undefined> {
  let query = db.selectFrom('sim_accounts').selectAll().where('system', '=', system);
  query = target.accountId !== undefined ? query.where('account_id', '=', target.accountId) : query.where('identity_key', '=', target.identityKey);
  return query.executeTakeFirst();
}

/**
 * Creates an account for an identity, or returns the one it has (concurrent
 * creates for one identity meet at the unique index). `identityKey` null makes
 * an account by hand, correlated to nobody.
 */
export async function addSimulatedAccount(
  db: Db,
  system: string,
  identityKey: string | null,
  attributes: Readonly<Record<string, AttributeValue>>,
  at: Date,
): Promise<{ account: SimAccount; created: boolean }> {
  const { n } = await db
    .updateTable('sim_systems')
    .set((eb) => ({ next_account: eb('next_account', '+', 1) }))
    .where('system', '=', system)
    .returning(sql<number>`next_account - 1`.as('n'))
    .executeTakeFirstOrThrow();
  const userName = attributes.user_name;
  const inserted = await db
    .insertInto('sim_accounts')
    .values({
      system, account_id: `${system}-acct-${n}`, identity_key: identityKey, name: typeof userName === 'string' && userName !== '' ? userName : (identityKey ?? `acct-${n}`),
      enabled: true, attributes: JSON.stringify(attributes), created_at: at.toISOString(),
    })
    .onConflict((oc) => oc.columns(['system', 'identity_key']).where('identity_key', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { account: inserted, created: true };
  return { account: (await findSimulatedAccount(db, system, { identityKey: identityKey! }))!, created: false };
}

export async function simulatedGroupExists(db: Db, system: string, entitlement: string): Promise<boolean> {
  return (await db.selectFrom('sim_groups').select('entitlement').where('system', '=', system).where('entitlement', '=', entitlement).executeTakeFirst()) !== undefined;
}

export async function simulatedGrantHeld(db: Db, system: string, accountId: string, entitlement: string): Promise<boolean> {
  const row = await db.selectFrom('sim_grants').select('entitlement').where('system', '=', system).where('account_id', '=', accountId).where('entitlement', '=', entitlement).executeTakeFirst();
  return row !== undefined;
}

export async function liveSessions(db: Db, system: string, accountId: string): Promise<number> {
  const row = await db.selectFrom('sim_sessions').select('live').where('system', '=', system).where('account_id', '=', accountId).executeTakeFirst();
  return row?.live ?? 0;
}

/** Sets an account's live sessions (tests and demos sign people in with it). */
export async function setLiveSessions(db: Db, system: string, accountId: string, live: number): Promise<void> {
  await db.insertInto('sim_sessions').values({ system, account_id: accountId, live }).onConflict((oc) => oc.columns(['system', 'account_id']).doUpdateSet({ live })).execute();
}

export function simulatedAccountView(system: string, row: SimAccount): Account {
  return {
    system,
    accountId: row.account_id,
    name: row.name,
    enabled: row.enabled,
    attributes: { ...row.attributes, ...(row.identity_key !== null ? { identity_key: row.identity_key } : {}) },
  };
}

/** Whether `attributes` (null = absent) all match the account's. */
export function simulatedAttributesHold(row: SimAccount, attributes: Readonly<Record<string, AttributeValue>>): boolean {
  return Object.entries(attributes).every(([key, want]) => JSON.stringify(row.attributes[key] ?? null) === JSON.stringify(want));
}

/** One page after `cursor` (the last key of the previous page), in byte order. */
export async function simulatedPage(db: Db, system: string, kind: 'accounts' | 'entitlements' | 'grants', after: readonly string[] | null, limit: number): Promise<(Account | EntitlementInfo | Grant)[]> {
  if (kind === 'accounts') {
    let query = db.selectFrom('sim_accounts').selectAll().where('system', '=', system);
    if (after) query = query.where(sql<boolean>`${byteOrder('account_id')} > ${after[0]}`);
    const rows = await query.orderBy(byteOrder('account_id')).limit(limit).execute();
    return rows.map((r) => simulatedAccountView(system, r));
  }
  if (kind === 'entitlements') {
    let query = db.selectFrom('sim_groups').selectAll().where('system', '=', system);
    if (after) query = query.where(sql<boolean>`${byteOrder('entitlement')} > ${after[0]}`);
    const rows = await query.orderBy(byteOrder('entitlement')).limit(limit).execute();
    return rows.map((r) => ({ system, entitlement: r.entitlement, displayName: r.display_name, type: 'group' }));
  }
  let query = db.selectFrom('sim_grants').selectAll().where('system', '=', system);
  if (after) query = query.where(sql<boolean>`(${byteOrder('account_id')}, ${byteOrder('entitlement')}) > (${after[0]}, ${after[1]})`);
  const rows = await query.orderBy(byteOrder('account_id')).orderBy(byteOrder('entitlement')).limit(limit).execute();
  return rows.map((r) => ({ system, accountId: r.account_id, entitlement: r.entitlement }));
}
