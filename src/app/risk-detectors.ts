/**
 * Detectors of risky access beyond reconcile's own findings, each with a
 * severity, a stable finding key (opened once, resolved when gone) and an
 * `alert.raised` audit entry when it opens:
 * - a privileged grant a system holds with no assignment behind it
 *   (escalation outside the workflow): high, raised right after the reconcile
 *   that saw it; the plan removes it where the system's enforcement allows;
 * - credentials older than the maximum age;
 * - non-human identities and AI agents whose owner left or is missing;
 * - sign-ins of a leaver's account after their leave date (where the system reports last sign-in);
 * - someone who is their own manager, and so would approve their own access.
 */
import type { Kysely } from 'kysely';
import type { CredentialKind, Identity } from '../domain/identity.ts';
import { credentialMaxAgeDays, DEFAULT_CREDENTIAL_MAX_AGE_DAYS, type Policy, type SystemDef } from '../domain/policy.ts';
import { entitlementDefFor } from '../engine/compiled-policy.ts';
import type { Database } from '../store/database.ts';
import { raiseFinding, type AlertSink, type FindingInput, type RiskFindingKind } from './alert.ts';
import { loadCredentials, loadIdentities } from './plan-inputs.ts';
import type { FindingDraft } from './reconcile-detect.ts';

type Db = Kysely<Database>;

export type RiskFinding = FindingInput & { readonly kind: RiskFindingKind; readonly severity: NonNullable<FindingInput['severity']> };

const NON_HUMAN = new Set(['service_account', 'integration', 'ai_agent']);
const DAY = 86_400_000;

export interface RiskInput {
  readonly identities: readonly Identity[];
  readonly credentials: readonly { readonly id: string; readonly identityKey: string; readonly system: string; readonly kind: CredentialKind; readonly name: string; readonly createdAt: string; readonly lastRotatedAt: string | null; readonly status: string }[];
  /** Latest observed accounts with their last sign-in, where systems report it. */
  readonly accounts: readonly { readonly system: string; readonly accountId: string; readonly name: string; readonly identityKey: string | null; readonly lastLoginAt: string | null }[];
  readonly now: Date;
  /** A credential's maximum age where its system's policy names none (`credentials.max_age_days`). */
  readonly credentialMaxAgeDays: number;
  /** The policy's systems, for their credential maximum ages. */
  readonly systems?: readonly Pick<SystemDef, 'name' | 'credentials'>[];
}

/**
 * Pure: the risk findings in these inputs (all kinds but the privileged-grant one, which reconcile raises).
 * @example detectRisks({ identities, credentials, accounts, now, credentialMaxAgeDays: 90 })
 */
export function detectRisks(input: RiskInput): RiskFinding[] {
  const out: RiskFinding[] = [];
  const byKey = new Map(input.identities.map((i) => [i.key, i]));
  for (const c of input.credentials) {
    if (c.status !== 'active') continue;
    const since = Date.parse(c.lastRotatedAt ?? c.createdAt);
    const days = Math.floor((input.now.getTime() - since) / DAY);
    const maxDays = credentialMaxAgeDays(input.systems ?? [], c.system, c.kind, input.credentialMaxAgeDays);
    if (days > maxDays) {
      out.push({ kind: 'stale_credential', subject: c.id, severity: 'medium', identityKey: c.identityKey, system: c.system,
        detail: `credential ${c.name} of ${c.identityKey} in ${c.system} was last set ${days} days ago (maximum ${maxDays}): rotate it` });
    }
  }
  for (const i of input.identities) {
    if (i.status === 'left') continue;
    if (NON_HUMAN.has(i.kind)) {
      const owner = i.owner === null ? undefined : byKey.get(i.owner);
      const problem = i.owner === null ? 'has no owner' : !owner ? `names owner ${i.owner}, who is not an identity jml knows` : owner.status === 'left' ? `is owned by ${owner.key}, who has left` : null;
      if (problem) out.push({ kind: 'ownerless_nhi', subject: i.key, severity: i.kind === 'ai_agent' ? 'high' : 'medium', identityKey: i.key, detail: `${i.kind.replace('_', ' ')} ${i.key} ${problem}: transfer its ownership` });
    }
    const self = selfApproval(i, (key) => byKey.get(key)?.attributes.manager);
    if (self) out.push(self.finding);
  }
  for (const a of input.accounts) {
    if (a.identityKey === null || a.lastLoginAt === null) continue;
    const identity = byKey.get(a.identityKey);
    if (!identity || identity.status !== 'left' || identity.endDate === null) continue;
    // The leave date is the last working day: a sign-in after its end is activity after leaving.
    if (Date.parse(a.lastLoginAt) >= Date.parse(identity.endDate) + DAY) {
      out.push({ kind: 'leaver_activity', subject: `${a.system}:${a.accountId}`, severity: 'critical', identityKey: a.identityKey, system: a.system, accountId: a.accountId,
        detail: `${a.name} in ${a.system} signed in at ${a.lastLoginAt}, after ${a.identityKey} left on ${identity.endDate}: investigate and disable` });
    }
  }
  return out;
}

/** Levels of management followed before giving up (deeper organisations are rare). */
export const MAX_CHAIN = 16;

/** Someone who would approve their own access: the finding, and everyone in the loop (just them when they are their own manager, sponsor or owner). */
export interface SelfApproval {
  readonly finding: RiskFinding;
  readonly loop: readonly string[];
}

/**
 * Pure: whether `identity` is their own manager, sponsor or owner, or their
 * management chain loops back to them (an escalated approval would reach
 * them). `managerOf` looks up anyone's manager.
 * @example selfApproval(identity, (key) => byKey.get(key)?.attributes.manager)
 */
export function selfApproval(identity: Identity, managerOf: (key: string) => string | null | undefined): SelfApproval | null {
  const key = identity.key;
  const manager = identity.attributes.manager;
  if (manager === key || identity.sponsor === key || identity.owner === key) {
    const role = manager === key ? 'manager' : identity.sponsor === key ? 'sponsor' : 'owner';
    return { loop: [key], finding: { kind: 'self_approver', subject: key, severity: 'high', identityKey: key, detail: `${key} is their own ${role}, so approvals routed to them would be self-approvals: correct the source record` } };
  }
  const loop = managerLoop(key, manager, managerOf);
  if (!loop) return null;
  return { loop: loop.slice(0, -1), finding: { kind: 'self_approver', subject: key, severity: 'high', identityKey: key, detail: `the management chain of ${key} loops back to them (${loop.join(' → ')}), so an escalated approval would reach them: correct the source records` } };
}

/** The chain from `key` up through managers when it returns to `key`; null when it ends or loops elsewhere. */
function managerLoop(key: string, first: string | null | undefined, managerOf: (key: string) => string | null | undefined): string[] | null {
  const chain = [key];
  let next = first;
  for (let i = 0; i < MAX_CHAIN && next; i++) {
    chain.push(next);
    if (next === key) return chain;
    if (chain.indexOf(next) < chain.length - 1) return null;
    next = managerOf(next);
  }
  return null;
}

/** Raises `found` and resolves the open findings of `kinds` (within `system` when given) that it no longer contains. */
async function syncRiskFindings(db: Db, kinds: readonly RiskFindingKind[], found: readonly RiskFinding[], now: Date, sink?: AlertSink, system?: string): Promise<void> {
  for (const f of found) await raiseFinding(db, f, now, sink);
  const ids = new Set(found.map((f) => `${f.kind}:${f.subject}`));
  let query = db.selectFrom('findings').select('id').where('kind', 'in', kinds).where('state', '=', 'open');
  if (system !== undefined) query = query.where('system', '=', system);
  const stale = (await query.execute()).map((r) => r.id).filter((id) => !ids.has(id));
  if (stale.length > 0) await db.updateTable('findings').set({ state: 'resolved', resolved_at: now.toISOString() }).where('id', 'in', stale).execute();
}

export interface RiskScanSettings {
  /** Credentials not set for longer than this are stale, where their system's policy names no maximum (default 90 days). */
  readonly credentialMaxAgeDays?: number;
  /** The policy's systems, whose `credentials.max_age_days` (and per kind) come first. */
  readonly systems?: readonly Pick<SystemDef, 'name' | 'credentials'>[];
}

/**
 * The scheduled scan: stale credentials, ownerless NHIs and agents, leaver activity, self-approvers.
 * @example await scanRisks(db, new Date(), { systems: policy.systems }, stderrAlertSink);
 */
export async function scanRisks(db: Db, now: Date, settings: RiskScanSettings, sink?: AlertSink): Promise<RiskFinding[]> {
  const accounts = await db
    .selectFrom('observed_accounts as a')
    .innerJoin('reconcile_runs as r', 'r.id', 'a.run_id')
    .select(['a.system', 'a.account_id', 'a.name', 'a.identity_key', 'a.last_login_at'])
    .where('r.status', '=', 'completed')
    .where('a.last_login_at', 'is not', null)
    .execute();
  const found = detectRisks({
    identities: await loadIdentities(db),
    credentials: await loadCredentials(db),
    accounts: accounts.map((a) => ({ system: a.system, accountId: a.account_id, name: a.name, identityKey: a.identity_key, lastLoginAt: a.last_login_at })),
    now,
    credentialMaxAgeDays: settings.credentialMaxAgeDays ?? DEFAULT_CREDENTIAL_MAX_AGE_DAYS,
    ...(settings.systems ? { systems: settings.systems } : {}),
  });
  await syncRiskFindings(db, ['stale_credential', 'ownerless_nhi', 'leaver_activity', 'self_approver'], found, now, sink);
  return found;
}

/**
 * Right after a reconcile: an alert for each privileged grant in `system` that
 * no rule, request or exception gives (from reconcile's out-of-policy drafts).
 * Call it outside the reconcile's transaction.
 */
export async function alertPrivilegedGrants(db: Db, policy: Policy, system: string, drafts: readonly FindingDraft[], now: Date, sink?: AlertSink): Promise<RiskFinding[]> {
  const found: RiskFinding[] = drafts
    .filter((d) => d.kind === 'out_of_policy_grant' && d.entitlement !== null && entitlementDefFor(policy.entitlements, system, d.entitlement)?.privileged === true)
    .map((d) => ({
      kind: 'privileged_grant_outside_workflow', subject: `${system}:${d.accountId}:${d.entitlement}`, severity: 'high', system, identityKey: d.identityKey, accountId: d.accountId, entitlement: d.entitlement,
      detail: `privileged ${system}:${d.entitlement} granted to ${d.identityKey} outside jml (no rule, request or exception): escalation outside the workflow`,
    }));
  await syncRiskFindings(db, ['privileged_grant_outside_workflow'], found, now, sink, system);
  return found;
}
