/**
 * Orphans under full enforcement: an account that matches no identity and
 * that reconciliation reported (an open `orphan_account` finding) is disabled
 * once the system's grace period since the finding was first seen has passed.
 * Never deleted: that is a person's call. Other enforcement modes only report.
 */
import type { Account } from '../domain/access.ts';
import type { Change } from '../domain/change.ts';
import { stableId } from './canonical-hash.ts';
import type { CompiledPolicy } from './compiled-policy.ts';
import { credentialOf } from './identity-changes.ts';

/** An open orphan finding as the plan reads it. */
export interface OrphanFinding {
  readonly id: string;
  readonly system: string;
  readonly accountId: string;
  /** ISO instant the finding was first raised (reopened findings count from their reopening). */
  readonly firstSeen: string;
}

const DAY_MS = 86_400_000;

/**
 * The identity key an orphan's changes carry: no identity owns the account, and
 * this value can never be an identity's correlation value by accident of form.
 */
export function orphanKey(accountId: string): string {
  return `${ORPHAN_PREFIX}${accountId}`;
}

const ORPHAN_PREFIX = 'orphan:';

/** Whether a change's identity key is an orphan account's (see orphanKey), not a person's. */
export function isOrphanKey(identityKey: string): boolean {
  return identityKey.startsWith(ORPHAN_PREFIX);
}

/**
 * Disable changes for the unmatched accounts whose grace period has ended at `nowMs`.
 * An account that is disabled already, or that no open finding names (disputed, or
 * matched since), gets nothing.
 * @example orphanChanges(compiled, observed.unlinked.accounts, findings, Date.parse(now))
 */
export function orphanChanges(compiled: CompiledPolicy, unmatched: readonly Account[], findings: readonly OrphanFinding[], nowMs: number): Change[] {
  if (findings.length === 0) return [];
  const findingOf = new Map(findings.map((f) => [`${f.system}\u0000${f.accountId}`, f]));
  const out: Change[] = [];
  for (const account of unmatched) {
    const system = compiled.systems.get(account.system);
    if (!system || system.def.enforcement !== 'full' || !account.enabled) continue;
    const finding = findingOf.get(`${account.system}\u0000${account.accountId}`);
    if (!finding) continue;
    const days = system.def.orphans.disableAfterDays;
    if (Date.parse(finding.firstSeen) + days * DAY_MS > nowMs) continue;
    const identityKey = orphanKey(account.accountId);
    out.push({
      id: stableId('ch', ['disable_account', account.system, identityKey, account.accountId]),
      kind: 'disable_account',
      identityKey,
      system: account.system,
      accountId: account.accountId,
      // Like every disable: the password goes too, so unlocking the account by hand brings nothing back.
      ...credentialOf(system, 'disable_account'),
      reason: `orphan account ${account.name}: finding ${finding.id} first seen ${finding.firstSeen}, no identity matched it for ${days} days (enforcement full)`,
      dependsOn: [],
    });
  }
  return out.sort((a, b) => (a.system! < b.system! ? -1 : a.system! > b.system! ? 1 : a.accountId! < b.accountId! ? -1 : a.accountId! > b.accountId! ? 1 : 0));
}
