/**
 * Who is above whom: an identity's management chain, read from the store by
 * following `manager` upwards. Edit checks (nobody becomes their own
 * approver) and four-eyes approvals (nobody in the requester's chain
 * approves) both ask it.
 */
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { Database } from '../store/database.ts';

/** Hops followed up a chain; an organisation deeper than this is treated as ending there. */
const MAX_CHAIN = 64;

/**
 * `key`, then their manager, then theirs…; stops at the top, at a repeat, or after MAX_CHAIN hops.
 * @example await managementChain(db, 'E2') // ['E2', 'M1', 'CEO']
 */
export async function managementChain(db: Kysely<Database>, key: string): Promise<string[]> {
  const chain: string[] = [key];
  let current = key;
  while (chain.length <= MAX_CHAIN) {
    const row = await db.selectFrom('identities').select('attributes').where('key', '=', current).executeTakeFirst();
    const manager = row?.attributes.manager;
    if (!manager || chain.includes(manager)) break;
    chain.push(manager);
    current = manager;
  }
  return chain;
}

/** An arbitrary constant naming the advisory lock that serialises manager changes. */
const MANAGER_CHANGE_LOCK = 4_242_017;

/**
 * Refuses `manager` as the manager of `identityKey` when that would put the
 * identity above itself (invalid_input, naming the cycle). With `lock`, takes
 * a transaction-scoped advisory lock first, so two manager changes committed
 * at the same moment cannot together form a cycle neither forms alone; call
 * it that way inside the transaction that records the change.
 */
export async function refuseManagementCycle(db: Kysely<Database>, identityKey: string, manager: string, options: { readonly lock?: boolean } = {}): Promise<void> {
  if (options.lock) await sql`SELECT pg_advisory_xact_lock(${MANAGER_CHANGE_LOCK})`.execute(db);
  if (manager === identityKey) throw new JmlError('invalid_input', `${identityKey} cannot be their own manager`, { details: { field: 'manager' } });
  const chain = await managementChain(db, manager);
  const at = chain.indexOf(identityKey);
  if (at >= 0) {
    throw new JmlError('invalid_input', `${manager} as manager of ${identityKey} would make a management cycle (${[identityKey, ...chain.slice(0, at + 1)].join(' → ')})`, { details: { field: 'manager' } });
  }
}

