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
  /** The groups (entitlements) the connector listed, when the snapshot holds them: a group with no member exists too. */
  readonly entitlements?: readonly string[];
}

/** An account already linked to an identity (reconciliation decided it; situation `linked`). */
export interface AccountLink {
  readonly system: string;
  readonly accountId: string;
  readonly identityKey: string;
}

/** An identity's accounts with the grants each holds (`grants[i]` belongs to `accounts[i]`). */
export interface LinkedAccounts {
  readonly accounts: readonly Account[];
  readonly grants: readonly (readonly string[])[];
}

export interface ObservedIndex {
  /** identity key → its accounts in every system, with their grants. */
  readonly linked: ReadonlyMap<string, LinkedAccounts>;
  /** Accounts no identity matched: orphans, for the detectors, and disabled under full enforcement (orphan-changes.ts). */
  readonly unlinked: LinkedAccounts;
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

/** The grants of `account`, found by identity among its identity's few accounts. */
export function grantsIn(linked: LinkedAccounts, account: Account): readonly string[] {
  const i = linked.accounts.indexOf(account);
  return i < 0 ? NO_GRANTS : (linked.grants[i] ?? NO_GRANTS);
}

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
  // One index per identity field, shared by the systems that correlate on it.
  const indexes = new Map<string, Map<string, string | null>>();
  const correlationIndex = (field: string) => {
    let byValue = indexes.get(field);
    if (byValue) return byValue;
    indexes.set(field, (byValue = new Map()));
    for (const identity of identities) {
      const value = identityField(identity, field);
      if (value === null || value === '') continue;
      byValue.set(value, byValue.has(value) ? null : identity.key);
    }
    return byValue;
  };
  const linked = new Map<string, { accounts: Account[]; grants: (readonly string[])[] }>();
  const unlinked = { accounts: [] as Account[], grants: [] as (readonly string[])[] };

  for (const { system, accounts, grants } of observed) {
    const correlation = compiled.systems.get(system)?.def.correlation ?? { account: 'externalId', identity: 'key' };
    // Correlation values are unique per identity field; a value two identities share
    // is ambiguous (situation `disputed`) and links nothing.
    const byValue = correlationIndex(correlation.identity);
    const links = linkBySystem.get(system);
    const grantsOf = grantsByAccount(accounts, grants);
    for (let i = 0; i < accounts.length; i++) {
      const account = accounts[i]!;
      let key = links?.get(account.accountId);
      if (key === undefined || !known.has(key)) {
        const value = accountField(account, correlation.account);
        key = value === null ? undefined : (byValue.get(value) ?? undefined);
      }
      let target = key === undefined ? unlinked : linked.get(key);
      if (!target) linked.set(key!, (target = { accounts: [], grants: [] }));
      target.accounts.push(account);
      target.grants.push(grantsOf[i] ?? NO_GRANTS);
    }
  }
  return { linked, unlinked };
}

/**
 * Grants per account, aligned with `accounts`. When grants come in account order
 * (a connector listing each account's grants, a store reading ORDER BY account)
 * a merge walk pairs them without hashing; any other order falls back to a map.
 * Hashing 2 million account ids is the single largest cost of a large plan.
 */
function grantsByAccount(accounts: readonly Account[], grants: readonly Grant[]): (string[] | undefined)[] {
  const out: (string[] | undefined)[] = new Array(accounts.length);
  let j = 0;
  for (let i = 0; i < accounts.length && j < grants.length; i++) {
    const id = accounts[i]!.accountId;
    while (j < grants.length && grants[j]!.accountId === id) (out[i] ??= []).push(grants[j++]!.entitlement);
  }
  if (j === grants.length) return out;
  const byAccount = new Map<string, string[]>();
  let lastId: string | null = null;
  let last: string[] = [];
  for (const grant of grants) {
    if (grant.accountId !== lastId) {
      lastId = grant.accountId;
      const list = byAccount.get(lastId);
      if (list) last = list;
      else byAccount.set(lastId, (last = []));
    }
    last.push(grant.entitlement);
  }
  return accounts.map((account) => byAccount.get(account.accountId));
}
