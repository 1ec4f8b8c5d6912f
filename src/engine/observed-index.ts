/**
 * Observed state, indexed for planning: each account linked to an identity
 * (explicit links first, then the system's correlation rule), and grants by
 * account. Built once per plan in O(accounts + grants).
 */
import type { Account, Grant } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { SystemDef } from '../domain/policy.ts';
import { accountGrantsBuilder, NO_GRANTS } from './account-grants.ts';
import { identityField } from './condition.ts';
import type { CompiledPolicy } from './compiled-policy.ts';

/**
 * What one system's connector read: its accounts and the grants they hold, either
 * listed one by one (`grants`, in any order) or already grouped by account
 * (`accountGrants`, as the store's snapshot gives them: no object per grant).
 */
export type ObservedSystem = ObservedAccounts & (
  | { readonly grants: readonly Grant[]; readonly accountGrants?: never; readonly linkedKeys?: never }
  | {
      /** `accountGrants[i]`: the entitlements `accounts[i]` holds, in the order listed; equal lists may be one shared, frozen array. */
      readonly accountGrants: readonly (readonly string[])[];
      /**
       * `linkedKeys[i]`: the identity reconciliation linked `accounts[i]` to, or null — the same
       * as an AccountLink each, without an object per account.
       */
      readonly linkedKeys?: readonly (string | null)[];
      /** Grants naming an account the snapshot does not list: they belong to no account, but the group they name has a member. */
      readonly unlistedGrants?: readonly Grant[];
      readonly grants?: never;
    }
);

interface ObservedAccounts {
  readonly system: string;
  readonly accounts: readonly Account[];
  /** The groups (entitlements) the connector listed, when the snapshot holds them: a group with no member exists too. */
  readonly entitlements?: readonly string[];
}

/** An account already linked to an identity (reconciliation decided it; situation `linked`). */
export interface AccountLink {
  readonly system: string;
  readonly accountId: string;
  readonly identityKey: string;
}

/**
 * An identity's accounts with the grants each holds (`grants[i]` belongs to `accounts[i]`,
 * in the order the connector listed them). Equal lists may be one shared, frozen array.
 */
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

/**
 * The account attributes a plan reads of a system's accounts, sorted: the one it
 * correlates on and those it templates. The plan's fingerprint hashes exactly
 * these, and a store may read only these for a plan (src/app/observed-snapshot.ts).
 * @example plannedAccountFields(system) // ['externalId', 'mail']
 */
export function plannedAccountFields(system: Pick<SystemDef, 'correlation' | 'account'>): string[] {
  return [system.correlation.account, ...Object.keys(system.account.attributes)].sort();
}

/** The grants of `observed` listed one by one: for small reads (one identity's, a test's); the planner never builds this list. */
export function listedGrants(observed: ObservedSystem): readonly Grant[] {
  if (observed.grants) return observed.grants;
  const out: Grant[] = [];
  forEachGrant(observed, (accountId, entitlement) => out.push({ system: observed.system, accountId, entitlement }));
  return out;
}

/** Calls `visit` for each link: those in `links` and those the observed systems carry per account. */
export function forEachLink(observed: readonly ObservedSystem[], links: readonly AccountLink[], visit: (link: AccountLink) => void): void {
  for (const link of links) visit(link);
  for (const o of observed) {
    if (!o.linkedKeys) continue;
    for (let i = 0; i < o.accounts.length; i++) {
      const identityKey = o.linkedKeys[i];
      if (identityKey) visit({ system: o.system, accountId: o.accounts[i]!.accountId, identityKey });
    }
  }
}

/** Calls `visit` for each grant of `observed`, whichever form it holds them in. */
export function forEachGrant(observed: ObservedSystem, visit: (accountId: string, entitlement: string) => void): void {
  if (observed.grants) {
    for (const grant of observed.grants) visit(grant.accountId, grant.entitlement);
    return;
  }
  const { accounts, accountGrants } = observed;
  for (let i = 0; i < accounts.length; i++) for (const entitlement of accountGrants[i] ?? NO_GRANTS) visit(accounts[i]!.accountId, entitlement);
  for (const grant of observed.unlistedGrants ?? []) visit(grant.accountId, grant.entitlement);
}

/** No identity holds the correlation value, or more than one does (disputed). */
const UNMATCHED = -1;

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
  // Identities by position in `identities`: an account finds its identity with one lookup,
  // and the linked map is built once at the end instead of looked up per account.
  const positionOfKey = new Map(identities.map((identity, p) => [identity.key, p]));
  // One index per identity field, shared by the systems that correlate on it.
  const indexes = new Map<string, Map<string, number>>();
  const correlationIndex = (field: string) => {
    let byValue = indexes.get(field);
    if (byValue) return byValue;
    indexes.set(field, (byValue = new Map()));
    for (let p = 0; p < identities.length; p++) {
      const value = identityField(identities[p]!, field);
      if (value === null || value === '') continue;
      byValue.set(value, byValue.has(value) ? UNMATCHED : p);
    }
    return byValue;
  };
  const targets: ({ accounts: Account[]; grants: (readonly string[])[] } | undefined)[] = new Array(identities.length);
  const firstSeen: number[] = [];
  const unlinked = { accounts: [] as Account[], grants: [] as (readonly string[])[] };

  for (const o of observed) {
    const { system, accounts } = o;
    const correlation = compiled.systems.get(system)?.def.correlation ?? { account: 'externalId', identity: 'key' };
    // Correlation values are unique per identity field; a value two identities share
    // is ambiguous (situation `disputed`) and links nothing.
    const byValue = correlationIndex(correlation.identity);
    const links = linkBySystem.get(system);
    const grantsOf = o.grants ? groupedByAccount(accounts, o.grants) : o.accountGrants;
    for (let i = 0; i < accounts.length; i++) {
      const account = accounts[i]!;
      const linkedKey = o.linkedKeys?.[i] ?? links?.get(account.accountId);
      let p = linkedKey === undefined || linkedKey === null ? undefined : positionOfKey.get(linkedKey);
      if (p === undefined) {
        const value = accountField(account, correlation.account);
        p = value === null ? UNMATCHED : (byValue.get(value) ?? UNMATCHED);
      }
      let target = p === UNMATCHED ? unlinked : targets[p];
      if (!target) {
        targets[p] = target = { accounts: [], grants: [] };
        firstSeen.push(p);
      }
      target.accounts.push(account);
      target.grants.push(grantsOf[i] ?? NO_GRANTS);
    }
  }
  // In the order each identity's first account was read, as before.
  const linked = new Map<string, LinkedAccounts>();
  for (const p of firstSeen) linked.set(identities[p]!.key, targets[p]!);
  return { linked, unlinked };
}

/** Grants listed one by one, grouped by account (a grant naming an account not listed belongs to none). */
export function groupedByAccount(accounts: readonly Account[], grants: readonly Grant[]): (readonly string[])[] {
  const builder = accountGrantsBuilder(accounts, grants.length);
  for (let j = 0; j < grants.length; j++) builder.add(grants[j]!.accountId, grants[j]!.entitlement);
  return builder.build();
}
