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
import type { AlertSink } from './alert.ts';

type Db = Kysely<Database>;

export const SOD_FINDING_KIND = 'sod_violation';

/** A finding's `entitlement` column for an SoD violation: the conflicting pair. */
export function sodPairText(pair: readonly [string, string]): string {
  return `${pair[0]} + ${pair[1]}`;
}

/** Every linked account's grants in the latest completed snapshot of each system, by identity (one identity's when given). */
async function observedHoldings(db: Db, identityKey?: string): Promise<Map<string, EntitlementRef[]>> {
  let query = db
    .selectFrom('observed_grants as g')
    .innerJoin('observed_accounts as a', (j) => j.onRef('a.run_id', '=', 'g.run_id').onRef('a.account_id', '=', 'g.account_id'))
    .innerJoin('reconcile_runs as r', 'r.id', 'g.run_id')
    .select(['a.identity_key', 'g.system', 'g.entitlement'])
    .where('r.status', '=', 'completed')
    .where('a.identity_key', 'is not', null);
  if (identityKey !== undefined) query = query.where('a.identity_key', '=', identityKey);
  const rows = await query.execute();
  const out = new Map<string, EntitlementRef[]>();
  for (const r of rows) {
    const list = out.get(r.identity_key!);
    const ref = { system: r.system, entitlement: r.entitlement };
    if (list) list.push(ref);
    else out.set(r.identity_key!, [ref]);
  }
  return out;
}

const mitigationKey = (identityKey: string, rule: string) => `${identityKey}\u0000${rule}`;

/** The identity and rule of each mitigation in force at `now` (mitigationKey). */
async function mitigations(db: Db, now: Date): Promise<Set<string>> {
  const rows = await db.selectFrom('access_requests').select(['identity_key', 'sod_rule'])
    .where('kind', '=', 'exception').where('state', '=', 'approved').where('sod_rule', 'is not', null).where('valid_to', '>', now).execute();
  return new Set(rows.map((r) => mitigationKey(r.identity_key, r.sod_rule!)));
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
      if (mitigated.has(mitigationKey(identityKey, v.rule))) mitigatedCount++;
      else found.set(sodViolationKey(v), v);
    }
  }
  const open = await db.selectFrom('findings').select('id').where('kind', '=', SOD_FINDING_KIND).where('state', '=', 'open').execute();
  const wasOpen = new Set(open.map((r) => r.id));
  const iso = at.toISOString();
  const raised: SodViolation[] = [];
  for (const [id, v] of found) {
    await upsertSodFinding(db, v, iso);
    if (!wasOpen.has(id)) raised.push(v);
  }
  const resolved = [...wasOpen].filter((id) => !found.has(id)).sort();
  if (resolved.length > 0) await db.updateTable('findings').set({ state: 'resolved', resolved_at: iso }).where('id', 'in', resolved).execute();
  await appendAudit(db, [
    ...raised.map((v) => violationFoundEntry(v, actor, 'detector')),
    ...resolved.map((id) => ({ actor, action: 'finding.resolved', subject: id, trigger: 'detector', details: { findings: [id], kinds: [SOD_FINDING_KIND] } })),
  ], at);
  return { raised, resolved, open: found.size, mitigated: mitigatedCount };
}

/** Opens (or refreshes) the finding of one violation. */
async function upsertSodFinding(db: Db, v: SodViolation, iso: string): Promise<void> {
  const detail = `${describeSodViolation(v)}; owner ${v.owner}: remove one side, or mitigate with a compensating control`;
  await db.insertInto('findings')
    .values({ id: sodViolationKey(v), kind: SOD_FINDING_KIND, system: null, identity_key: v.identityKey, account_id: null, entitlement: sodPairText(v.pair), detail, first_seen: iso, last_seen: iso, state: 'open', resolved_at: null })
    .onConflict((oc) => oc.column('id').doUpdateSet({ detail, entitlement: sodPairText(v.pair), last_seen: iso, state: 'open', resolved_at: null }))
    .execute();
}

function violationFoundEntry(v: SodViolation, actor: string, trigger: string) {
  return { actor, action: 'sod.violation_found', subject: v.identityKey, trigger, details: { finding: sodViolationKey(v), rule: v.rule, severity: v.severity, pair: v.pair, owner: v.owner } };
}

/**
 * A confirmed add_grant judged at once, not at the next reconcile: the SoD
 * rules over what the identity now holds in every system's latest snapshot,
 * the confirmed grant included (record it first). Each unmitigated violation
 * not already open opens its finding with a `sod.violation_found` entry, as a
 * reconcile would. Call it in the transaction recording the confirmation;
 * returns the violations it opened, for the alert sent after commit.
 */
export async function openSodFindingsCreatedBy(trx: Db, policy: Policy, change: Change, at: Date, actor: string): Promise<readonly SodViolation[]> {
  if (change.kind !== 'add_grant' || change.system === null || change.entitlement === undefined || (policy.sod ?? []).length === 0) return [];
  const held = (await observedHoldings(trx, change.identityKey)).get(change.identityKey) ?? [];
  const mitigated = await mitigations(trx, at);
  const violations = sodViolations(policy, change.identityKey, held).filter((v) => !mitigated.has(mitigationKey(change.identityKey, v.rule)));
  if (violations.length === 0) return [];
  const open = new Set((await trx.selectFrom('findings').select('id').where('id', 'in', violations.map(sodViolationKey)).where('state', '=', 'open').execute()).map((r) => r.id));
  const iso = at.toISOString();
  const raised = violations.filter((v) => !open.has(sodViolationKey(v)));
  for (const v of raised) await upsertSodFinding(trx, v, iso);
  await appendAudit(trx, raised.map((v) => violationFoundEntry(v, actor, `change:${change.id}`)), at);
  return raised;
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

/**
 * Sends the alert of each violation a confirmed grant opened (after the
 * confirmation committed: a rolled-back one alerts nobody).
 * @example await alertSodViolations(raised, at, stderrAlertSink);
 */
export async function alertSodViolations(raised: readonly SodViolation[], at: Date, sink: AlertSink | undefined): Promise<void> {
  if (!sink) return;
  for (const v of raised) {
    await sink({
      kind: SOD_FINDING_KIND, subject: `${v.rule}:${v.identityKey}`, findingId: sodViolationKey(v), at: at.toISOString(), severity: v.severity,
      identityKey: v.identityKey, entitlement: sodPairText(v.pair), detail: `${describeSodViolation(v)}; owner ${v.owner}`,
    });
  }
}
