/**
 * The detective side of separation of duties: what systems actually hold,
 * judged by the policy's SoD rules. Each violation is a finding (kind
 * `sod_violation`, no single system: the pair may span two), keyed by rule and
 * identity so it is opened once and resolved when the conflict is gone. A
 * violation covered by a mitigation in force (an approved exception naming
 * the rule) is not reported: it is reviewed through the exception process.
 * Non-human identities and AI agents are judged like everyone else.
 */
import type { Kysely } from 'kysely';
import type { EntitlementRef } from '../domain/access.ts';
import type { Change } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import { describeSodViolation, sodViolationKey, sodViolations, type SodViolation } from '../engine/sod.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';

type Db = Kysely<Database>;

export const SOD_FINDING_KIND = 'sod_violation';

/** A finding's `entitlement` column for an SoD violation: the conflicting pair. */
export function sodPairText(pair: readonly [string, string]): string {
  return `${pair[0]} + ${pair[1]}`;
}

/** Every linked account's grants in the latest completed snapshot of each system, by identity. */
async function observedHoldings(db: Db): Promise<Map<string, EntitlementRef[]>> {
  const rows = await db
    .selectFrom('observed_grants as g')
    .innerJoin('observed_accounts as a', (j) => j.onRef('a.run_id', '=', 'g.run_id').onRef('a.account_id', '=', 'g.account_id'))
    .innerJoin('reconcile_runs as r', 'r.id', 'g.run_id')
    .select(['a.identity_key', 'g.system', 'g.entitlement'])
    .where('r.status', '=', 'completed')
    .where('a.identity_key', 'is not', null)
    .execute();
  const out = new Map<string, EntitlementRef[]>();
  for (const r of rows) {
    const list = out.get(r.identity_key!);
    const ref = { system: r.system, entitlement: r.entitlement };
    if (list) list.push(ref);
    else out.set(r.identity_key!, [ref]);
  }
  return out;
}

/** `identity\0rule` of each mitigation in force at `now`. */
async function mitigations(db: Db, now: Date): Promise<Set<string>> {
  const rows = await db.selectFrom('access_requests').select(['identity_key', 'sod_rule'])
    .where('kind', '=', 'exception').where('state', '=', 'approved').where('sod_rule', 'is not', null).where('valid_to', '>', now).execute();
  return new Set(rows.map((r) => `${r.identity_key}\u0000${r.sod_rule}`));
}

export interface SodFindingSync {
  readonly raised: readonly SodViolation[];
  readonly resolved: readonly string[];
  readonly open: number;
  /** Violations standing under a mitigation in force. */
  readonly mitigated: number;
}

/**
 * Makes the open `sod_violation` findings exactly the unmitigated violations
 * in the observed snapshots, auditing each one opened (`sod.violation_found`) or resolved.
 * @example const sync = await syncSodFindings(db, policy, new Date(), 'reconcile');
 */
export async function syncSodFindings(db: Db, policy: Policy, at: Date, actor: string): Promise<SodFindingSync> {
  if (!db.isTransaction) return db.transaction().execute((trx) => syncSodFindings(trx, policy, at, actor));
  const holdings = await observedHoldings(db);
  const mitigated = await mitigations(db, at);
  const found = new Map<string, SodViolation>();
  let mitigatedCount = 0;
  for (const [identityKey, held] of [...holdings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const v of sodViolations(policy, identityKey, held)) {
      if (mitigated.has(`${identityKey}\u0000${v.rule}`)) mitigatedCount++;
      else found.set(sodViolationKey(v), v);
    }
  }
  const open = await db.selectFrom('findings').select('id').where('kind', '=', SOD_FINDING_KIND).where('state', '=', 'open').execute();
  const wasOpen = new Set(open.map((r) => r.id));
  const iso = at.toISOString();
  const raised: SodViolation[] = [];
  for (const [id, v] of found) {
    const detail = `${describeSodViolation(v)}; owner ${v.owner}: remove one side, or mitigate with a compensating control`;
    await db.insertInto('findings')
      .values({ id, kind: SOD_FINDING_KIND, system: null, identity_key: v.identityKey, account_id: null, entitlement: sodPairText(v.pair), detail, first_seen: iso, last_seen: iso, state: 'open', resolved_at: null })
      .onConflict((oc) => oc.column('id').doUpdateSet({ detail, entitlement: sodPairText(v.pair), last_seen: iso, state: 'open', resolved_at: null }))
      .execute();
    if (!wasOpen.has(id)) raised.push(v);
  }
  const resolved = [...wasOpen].filter((id) => !found.has(id)).sort();
  if (resolved.length > 0) await db.updateTable('findings').set({ state: 'resolved', resolved_at: iso }).where('id', 'in', resolved).execute();
  await appendAudit(db, [
    ...raised.map((v) => ({ actor, action: 'sod.violation_found', subject: v.identityKey, trigger: 'detector', details: { finding: sodViolationKey(v), rule: v.rule, severity: v.severity, pair: v.pair, owner: v.owner } })),
    ...resolved.map((id) => ({ actor, action: 'finding.resolved', subject: id, trigger: 'detector', details: { findings: [id], kinds: [SOD_FINDING_KIND] } })),
  ], at);
  return { raised, resolved, open: found.size, mitigated: mitigatedCount };
}

/**
 * A confirmed remove_grant (or a deleted account) that takes away one side of
 * an open violation resolves it at once; the next reconcile confirms. Call it
 * in the transaction recording the confirmation.
 */
export async function resolveSodFindingsFixedBy(trx: Db, change: Change, at: Date, actor: string): Promise<readonly string[]> {
  if (change.kind !== 'remove_grant' || change.system === null || change.entitlement === undefined) return [];
  const removed = `${change.system}:${change.entitlement}`;
  const rows = await trx.selectFrom('findings').select(['id', 'entitlement']).where('kind', '=', SOD_FINDING_KIND).where('state', '=', 'open').where('identity_key', '=', change.identityKey).execute();
  const ids = rows.filter((r) => (r.entitlement ?? '').split(' + ').includes(removed)).map((r) => r.id);
  if (ids.length === 0) return [];
  await trx.updateTable('findings').set({ state: 'resolved', resolved_at: at.toISOString() }).where('id', 'in', ids).execute();
  await appendAudit(trx, { actor, action: 'finding.resolved', subject: change.identityKey, trigger: `change:${change.id}`, details: { findings: ids, kinds: [SOD_FINDING_KIND], change: change.id } }, at);
  return ids;
}
