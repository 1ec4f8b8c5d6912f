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
  // Identities by position in `identities`: an account finds its identity by key or
  // correlation value, and the linked map is built once at the end instead of looked up per
  // account. By key only once an account carries a link (a plan from a connector's read has none).
  let byKey: IdentityFinder | null = null;
  // One finder per identity field, shared by the systems that correlate on it; built once an account needs it.
  const finders = new Map<string, IdentityFinder>();
  const correlationFinder = (field: string) => {
    let finder = finders.get(field);
    // Correlation values are unique per identity field; a value two identities share
    // is ambiguous (situation `disputed`) and links nothing.
    if (!finder) finders.set(field, (finder = identityFinder(identities, (identity) => identityField(identity, field) || null, 'none')));
    return finder;
  };
  const targets: ({ accounts: Account[]; grants: (readonly string[])[] } | undefined)[] = new Array(identities.length);
  const firstSeen: number[] = [];
  const unlinked = { accounts: [] as Account[], grants: [] as (readonly string[])[] };

  for (const o of observed) {
    const { system, accounts } = o;
    const correlation = compiled.systems.get(system)?.def.correlation ?? { account: 'externalId', identity: 'key' };
    let byValue = finders.get(correlation.identity);
    byKey?.restart();
    byValue?.restart();
    const links = linkBySystem.get(system);
    const grantsOf = o.grants ? groupedByAccount(accounts, o.grants) : o.accountGrants;
    for (let i = 0; i < accounts.length; i++) {
      const account = accounts[i]!;
      const linkedKey = o.linkedKeys?.[i] ?? links?.get(account.accountId);
      let p = linkedKey === undefined || linkedKey === null ? UNMATCHED : (byKey ??= identityFinder(identities, (identity) => identity.key, 'last')).find(linkedKey);
      if (p === UNMATCHED) {
        const value = accountField(account, correlation.account);
        p = value === null ? UNMATCHED : (byValue ??= correlationFinder(correlation.identity)).find(value);
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

/**
 * How many identities past the previous account's an account's identity is looked for before
 * the map. A system few people have accounts in skips several between two of its accounts: at
 * 100,000 people (engine-bench, 1.4 M accounts) 47,249 lookups went to the map with 4, 392 with 16.
 */
const LOOK_AHEAD = 16;

/** Finds the identity holding a value, for one account after another. */
interface IdentityFinder {
  /** The position of the identity holding `value`, or UNMATCHED. */
  find(value: string): number;
  /** A new listing starts (the next system's accounts): the next account's identity is looked for from the first. */
  restart(): void;
}

/**
 * Identities by a value of theirs (null: none). A value several identities
 * hold names the last of them (`last`), or none (`none`: ambiguous).
 *
 * A store lists a system's accounts by account id, which mostly sorts as the identity keys
 * do, so an account's identity is usually a few places after the previous account's: it is
 * looked for there first, while such guesses mostly hit, else by one lookup in the map. The
 * guess reads the values in order, where a lookup in a map of half a million values mostly
 * misses the cache (at 100,000 people indexObserved took 1.1-1.7 s of CPU, then 0.8 s). A
 * value several identities hold is never guessed, so both ways agree.
 */
function identityFinder(identities: readonly Identity[], valueOf: (identity: Identity) => string | null, shared: 'last' | 'none'): IdentityFinder {
  const values: (string | null)[] = new Array(identities.length);
  const positions = new Map<string, number>();
  // Positions whose value another identity holds too: the map decides for them.
  let held: Uint8Array | null = null;
  for (let p = 0; p < identities.length; p++) {
    const value = (values[p] = valueOf(identities[p]!));
    if (value === null) continue;
    const before = positions.get(value);
    if (before !== undefined) {
      held ??= new Uint8Array(identities.length);
      if (before !== UNMATCHED) held[before] = 1;
      held[p] = 1;
    }
    positions.set(value, before === undefined || shared === 'last' ? p : UNMATCHED);
  }
  let previous = -1;
  let misses = 0;
  let seen = 0;
  return {
    find(value) {
      seen += 1;
      if (misses * 8 <= seen) {
        const last = Math.min(previous + LOOK_AHEAD, identities.length - 1);
        for (let p = previous + 1; p <= last; p++) {
          if (values[p] === value && (held === null || held[p] === 0)) return (previous = p);
        }
        misses += 1;
      }
      const p = positions.get(value) ?? UNMATCHED;
      if (p !== UNMATCHED) previous = p;
      return p;
    },
    restart() {
      previous = -1;
    },
  };
}

/** Grants listed one by one, grouped by account (a grant naming an account not listed belongs to none). */
export function groupedByAccount(accounts: readonly Account[], grants: readonly Grant[]): (readonly string[])[] {
  const builder = accountGrantsBuilder(accounts, grants.length);
  for (let j = 0; j < grants.length; j++) builder.add(grants[j]!.accountId, grants[j]!.entitlement);
  return builder.build();
}
