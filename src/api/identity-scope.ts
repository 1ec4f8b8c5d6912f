/**
 * Which identities a principal may see: admin, security and HR everyone; a
 * manager their reporting chain (attributes.manager, followed downwards); a
 * system owner the identities with tasks in their systems; everyone themselves
 * and the non-human identities they own or people they sponsor.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import { seesEveryone, type Principal } from './auth/principal.ts';

/** Deep enough for any real organisation; the bound also stops a cycle in bad HR data. */
const MAX_CHAIN_DEPTH = 25;

/** True when `managerKey` is above `identityKey` in the reporting chain. */
export async function isInReportingChain(db: Kysely<Database>, managerKey: string, identityKey: string): Promise<boolean> {
  const result = await sql<{ found: boolean }>`
    WITH RECURSIVE chain(key, manager, depth) AS (
      SELECT key, attributes->>'manager', 1 FROM identities WHERE key = ${identityKey}
      UNION ALL
      SELECT i.key, i.attributes->>'manager', c.depth + 1 FROM identities i JOIN chain c ON i.key = c.manager
      WHERE c.depth < ${MAX_CHAIN_DEPTH}
    )
    SELECT exists (SELECT 1 FROM chain WHERE manager = ${managerKey}) AS found`.execute(db);
  return result.rows[0]?.found ?? false;
}

/** Keys of everyone in the manager's reporting chain (direct and indirect reports). */
export function reportsQuery(managerKey: string) {
  return sql<string>`(
    WITH RECURSIVE reports(key, depth) AS (
      SELECT key, 1 FROM identities WHERE attributes->>'manager' = ${managerKey}
      UNION ALL
      SELECT i.key, r.depth + 1 FROM identities i JOIN reports r ON i.attributes->>'manager' = r.key
      WHERE r.depth < ${MAX_CHAIN_DEPTH}
    ) SELECT key FROM reports)`;
}

/** Whether the principal may read this identity. */
export async function canSeeIdentity(db: Kysely<Database>, principal: Principal, identityKey: string): Promise<boolean> {
  if (seesEveryone(principal)) return true;
  const self = principal.identityKey;
  if (self === null) return false;
  if (self === identityKey) return true;
  const row = await db.selectFrom('identities').select(['owner', 'sponsor']).where('key', '=', identityKey).executeTakeFirst();
  if (row && (row.owner === self || row.sponsor === self)) return true;
  if (principal.roles.has('manager') && (await isInReportingChain(db, self, identityKey))) return true;
  if (principal.ownedSystems.length > 0) {
    const task = await db.selectFrom('tasks').select('id').where('identity_key', '=', identityKey).where('system', 'in', [...principal.ownedSystems]).limit(1).executeTakeFirst();
    if (task) return true;
  }
  return false;
}

/** Whether the principal may act as a manager for this identity (approve for, request for). */
export async function managesIdentity(db: Kysely<Database>, principal: Principal, identityKey: string): Promise<boolean> {
  if (principal.roles.has('admin')) return true;
  const self = principal.identityKey;
  if (!self || !principal.roles.has('manager') || self === identityKey) return false;
  return isInReportingChain(db, self, identityKey);
}
