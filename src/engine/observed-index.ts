/**
 * Observed state, indexed for planning: each account linked to an identity
 * (explicit links first, then the system's correlation rule), and grants by
 * account. Built once per plan in O(accounts + grants).
 */
import type { Account, Grant } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import { identityField } from './condition.ts';
import type { CompiledPolicy } from './compiled-policy.ts';

/** What one system's connector read: its accounts and the grants they hold. */
export interface ObservedSystem {
  readonly system: string;
  readonly accounts: readonly Account[];
  readonly grants: readonly Grant[];
}

/** An account already linked to an identity (reconciliation decided it; situation `linked`). */
export interface AccountLink {
  readonly system: string;
  readonly accountId: string;
  readonly identityKey: string;
}

export interface ObservedIndex {
  /** identity key → its accounts, in every system. */
  readonly accountsByIdentity: ReadonlyMap<string, readonly Account[]>;
  /** Accounts no identity matched (orphans for the detectors; the plan leaves them alone). */
  readonly unlinked: readonly Account[];
  /** Entitlements an account holds: system → account id → entitlements. */
  grantsOf(account: Pick<Account, 'system' | 'accountId'>): readonly string[];
}

/** The value an account offers for correlation: `name`, `accountId`, or an attribute (first value of a list). */
export function accountField(account: Account, field: string): string | null {
  if (field === 'name') return account.name;
  if (field === 'accountId') return account.accountId;
  const value = account.attributes[field];
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : (value[0] ?? null);
}

const NO_GRANTS: readonly string[] = [];

export function indexObserved(
  observed: readonly ObservedSystem[],
  identities: readonly Identity[],
  links: readonly AccountLink[],
  compiled: CompiledPolicy,
): ObservedIndex {
  const linkBySystem = new Map<string, Map<string, string>>();
  for (const link of links) {
    let bySystem = linkBySystem.get(link.system);
    if (!bySystem) linkBySystem.set(link.system, (bySystem = new Map()));
    bySystem.set(link.accountId, link.identityKey);
  }
  const known = new Set(identities.map((identity) => identity.key));
  const accountsByIdentity = new Map<string, Account[]>();
  const unlinked: Account[] = [];
  const grants = new Map<string, Map<string, string[]>>();

  for (const { system, accounts, grants: observedGrants } of observed) {
    const correlation = compiled.systems.get(system)?.def.correlation ?? { account: 'externalId', identity: 'key' };
    // Correlation values are unique per identity field; a value two identities share
    // is ambiguous (situation `disputed`) and links nothing.
    const byValue = new Map<string, string | null>();
    for (const identity of identities) {
      const value = identityField(identity, correlation.identity);
      if (value === null || value === '') continue;
      byValue.set(value, byValue.has(value) ? null : identity.key);
    }
    const linked = linkBySystem.get(system);
    for (const account of accounts) {
      let key = linked?.get(account.accountId);
      if (key === undefined || !known.has(key)) {
        const value = accountField(account, correlation.account);
        key = value === null ? undefined : (byValue.get(value) ?? undefined);
      }
      if (key === undefined) {
        unlinked.push(account);
        continue;
      }
      const list = accountsByIdentity.get(key);
      if (list) list.push(account);
      else accountsByIdentity.set(key, [account]);
    }
    let byAccount = grants.get(system);
    if (!byAccount) grants.set(system, (byAccount = new Map()));
    for (const grant of observedGrants) {
      const list = byAccount.get(grant.accountId);
      if (list) list.push(grant.entitlement);
      else byAccount.set(grant.accountId, [grant.entitlement]);
    }
  }
  return {
    accountsByIdentity,
    unlinked,
    grantsOf: (account) => grants.get(account.system)?.get(account.accountId) ?? NO_GRANTS,
  };
}
