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

const NO_GRANTS: readonly string[] = [];
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
  const lists = grantLists();

  for (const { system, accounts, grants } of observed) {
    const correlation = compiled.systems.get(system)?.def.correlation ?? { account: 'externalId', identity: 'key' };
    // Correlation values are unique per identity field; a value two identities share
    // is ambiguous (situation `disputed`) and links nothing.
    const byValue = correlationIndex(correlation.identity);
    const links = linkBySystem.get(system);
    const grantsOf = grantsByAccount(accounts, grants, lists);
    for (let i = 0; i < accounts.length; i++) {
      const account = accounts[i]!;
      const linkedKey = links?.get(account.accountId);
      let p = linkedKey === undefined ? undefined : positionOfKey.get(linkedKey);
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

/**
 * Grants per account, aligned with `accounts`, each list in the order the grants
 * were listed; undefined for an account holding none. A grant naming an account
 * not listed belongs to none. Account ids are unique within a system (a
 * snapshot's key).
 *
 * The cost must not depend on the order grants arrive in (a connector listing
 * each account's grants, a store reading ORDER BY account, or neither): each
 * grant is numbered with its account's position — found among the few accounts
 * after the previous grant's, else by one lookup in a map of account ids built
 * on the first miss — and the entitlements are then placed by a counting sort
 * on those numbers. No map of growing arrays, no string built per grant.
 */
function grantsByAccount(accounts: readonly Account[], grants: readonly Grant[], lists: GrantLists): (readonly string[] | undefined)[] {
  const out: (readonly string[] | undefined)[] = new Array(accounts.length).fill(undefined);
  if (grants.length === 0) return out;
  let positions: Map<string, number> | null = null;
  const positionOf = (accountId: string): number => {
    if (!positions) {
      positions = new Map();
      for (let i = accounts.length - 1; i >= 0; i--) positions.set(accounts[i]!.accountId, i);
    }
    return positions.get(accountId) ?? -1;
  };
  const owner = new Int32Array(grants.length);
  // counts[i + 1] grants for account i; turned into offsets below.
  const offsets = new Int32Array(accounts.length + 1);
  let current = -1;
  let currentId: string | null = null;
  let misses = 0;
  for (let j = 0; j < grants.length; j++) {
    const id = grants[j]!.accountId;
    if (id !== currentId) {
      currentId = id;
      // Grants in account order skip the accounts holding none: look a few ahead, while guesses mostly hit.
      const ahead = misses * 8 <= j ? Math.min(current + LOOK_AHEAD, accounts.length - 1) : current;
      let next = current + 1;
      while (next <= ahead && accounts[next]!.accountId !== id) next += 1;
      if (next <= ahead) current = next;
      else {
        misses += 1;
        current = positionOf(id);
      }
    }
    owner[j] = current;
    if (current >= 0) offsets[current + 1]! += 1;
  }
  for (let i = 0; i < accounts.length; i++) offsets[i + 1]! += offsets[i]!;
  const placed = new Array<string>(offsets[accounts.length]!);
  const cursor = offsets.slice(0, accounts.length);
  for (let j = 0; j < grants.length; j++) {
    const i = owner[j]!;
    if (i >= 0) placed[cursor[i]!++] = grants[j]!.entitlement;
  }
  for (let i = 0; i < accounts.length; i++) {
    if (offsets[i + 1]! > offsets[i]!) out[i] = lists.intern(placed, offsets[i]!, offsets[i + 1]!);
  }
  return out;
}

/** `entitlements[from..to)` as a shared read-only list. */
interface GrantLists {
  intern(entitlements: readonly string[], from: number, to: number): readonly string[];
}

interface ListNode {
  list?: readonly string[];
  next?: Map<string, ListNode>;
}

/** How many accounts past the last one a grant's account is looked for before the map of account ids. */
const LOOK_AHEAD = 4;

/** How many trie nodes one index keeps; past this, a list not yet seen is copied for its account alone. */
const LIST_NODES_LIMIT = 100_000;

/**
 * Equal grant lists as one frozen array: most accounts of a system hold one of a
 * few combinations, so millions of accounts need a few hundred arrays, not one
 * each. Found by walking a trie on the entitlement names (each name's hash is
 * computed once); no key string is built.
 */
function grantLists(): GrantLists {
  const root: ListNode = {};
  let nodes = 0;
  return {
    intern(entitlements, from, to) {
      let node: ListNode | undefined = root;
      for (let k = from; k < to && node; k++) {
        let next: ListNode | undefined = node.next?.get(entitlements[k]!);
        if (!next && nodes < LIST_NODES_LIMIT) {
          (node.next ??= new Map()).set(entitlements[k]!, (next = {}));
          nodes += 1;
        }
        node = next;
      }
      if (!node) return entitlements.slice(from, to);
      return (node.list ??= Object.freeze(entitlements.slice(from, to)));
    },
  };
}
