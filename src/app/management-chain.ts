/**
 * Who is above whom: an identity's management chain, read from the store by
 * following `manager` upwards. Edit checks (nobody becomes their own
 * approver) and four-eyes approvals (nobody in the requester's chain
 * approves) both ask it.
 */
import type { Kysely } from 'kysely';
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
