/**
 * Grants grouped by account: the compact form of a system's observed grants the
 * planner reads (`accountGrants[i]` lists what `accounts[i]` holds). Built from
 * grants given one at a time, in any order — a connector's listing or a store
 * read — without keeping an object or a string per grant.
 */
import type { Account } from '../domain/access.ts';

/** What an account holding nothing holds. */
export const NO_GRANTS: readonly string[] = Object.freeze([]);

/** Collects one system's grants, then groups them by account. */
export interface AccountGrantsBuilder {
  /** Records that `accountId` holds `entitlement`; false when no listed account has that id (the grant belongs to none). */
  add(accountId: string, entitlement: string): boolean;
  /**
   * The entitlements of each account, aligned with the accounts, each list in the
   * order its grants were added (duplicates kept); accounts holding the same list
   * share one frozen array. Call once.
   */
  build(): (readonly string[])[];
}

/** How many accounts past the last one a grant's account is looked for before the map of account ids. */
const LOOK_AHEAD = 4;

/** How many trie nodes one system's lists keep; past this, a list not yet seen is copied for its account alone. */
const LIST_NODES_LIMIT = 100_000;

/**
 * A builder for the grants of `accounts` (account ids are unique within a system:
 * a snapshot's key), sized for `expectedGrants`.
 *
 * The cost does not depend on the order grants arrive in beyond finding each
 * grant's account: it is looked for among the few accounts after the previous
 * grant's (grants in account order skip the accounts holding none), else by one
 * lookup in a map of account ids built on the first miss. Each grant then costs
 * two integers — its account's position and its entitlement's number among the
 * system's few names — and `build` places them with a counting sort on the
 * positions. No map of growing arrays, no string or object kept per grant.
 */
export function accountGrantsBuilder(accounts: readonly Account[], expectedGrants = 1024): AccountGrantsBuilder {
  // Sized once for what the caller expects: each regrowth is a new buffer outside the heap, and with a
  // heap of gigabytes the collections that external memory triggers cost more than the work.
  let owners = new Int32Array(Math.max(1, expectedGrants));
  let names = new Int32Array(Math.max(1, expectedGrants));
  let count = 0;
  const numberOf = new Map<string, number>();
  const nameOf: string[] = [];
  let positions: Map<string, number> | null = null;
  let current = -1;
  let currentId: string | null = null;
  let misses = 0;
  let seen = 0;

  const positionOf = (accountId: string): number => {
    if (!positions) {
      positions = new Map();
      for (let i = accounts.length - 1; i >= 0; i--) positions.set(accounts[i]!.accountId, i);
    }
    return positions.get(accountId) ?? -1;
  };

  return {
    add(accountId, entitlement) {
      if (accountId !== currentId) {
        currentId = accountId;
        // Look ahead while guesses mostly hit: shuffled grants go straight to the map.
        const ahead = misses * 8 <= seen ? Math.min(current + LOOK_AHEAD, accounts.length - 1) : current;
        let next = current + 1;
        while (next <= ahead && accounts[next]!.accountId !== accountId) next += 1;
        if (next <= ahead) current = next;
        else {
          misses += 1;
          current = positionOf(accountId);
        }
      }
      seen += 1;
      if (current < 0) return false;
      let name = numberOf.get(entitlement);
      if (name === undefined) {
        numberOf.set(entitlement, (name = nameOf.length));
        nameOf.push(entitlement);
      }
      if (count === owners.length) {
        owners = grown(owners);
        names = grown(names);
      }
      owners[count] = current;
      names[count] = name;
      count += 1;
      return true;
    },

    build() {
      // offsets[i + 1] counts account i's grants, then becomes where account i's grants end.
      const offsets = new Int32Array(accounts.length + 1);
      for (let j = 0; j < count; j++) offsets[owners[j]! + 1]! += 1;
      for (let i = 0; i < accounts.length; i++) offsets[i + 1]! += offsets[i]!;
      const placed = new Int32Array(count);
      const cursor = offsets.slice(0, accounts.length);
      for (let j = 0; j < count; j++) placed[cursor[owners[j]!]!++] = names[j]!;
      const lists = grantLists(nameOf);
      const out = new Array<readonly string[]>(accounts.length);
      for (let i = 0; i < accounts.length; i++) {
        out[i] = offsets[i + 1]! > offsets[i]! ? lists.intern(placed, offsets[i]!, offsets[i + 1]!) : NO_GRANTS;
      }
      return out;
    },
  };
}

function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

interface ListNode {
  list?: readonly string[];
  next?: Map<number, ListNode>;
}

/**
 * Equal grant lists as one frozen array: most accounts of a system hold one of a
 * few combinations, so millions of accounts need a few hundred arrays, not one
 * each. Found by walking a trie on entitlement numbers; no key string is built.
 */
function grantLists(nameOf: readonly string[]) {
  const root: ListNode = {};
  let nodes = 0;
  // Built by push: a packed array, as `slice` gives (a preallocated one stays holey, slower for every reader).
  const copy = (numbers: Int32Array, from: number, to: number) => {
    const list: string[] = [];
    for (let k = from; k < to; k++) list.push(nameOf[numbers[k]!]!);
    return list;
  };
  return {
    intern(numbers: Int32Array, from: number, to: number): readonly string[] {
      let node: ListNode | undefined = root;
      for (let k = from; k < to && node; k++) {
        let next: ListNode | undefined = node.next?.get(numbers[k]!);
        if (!next && nodes < LIST_NODES_LIMIT) {
          (node.next ??= new Map()).set(numbers[k]!, (next = {}));
          nodes += 1;
        }
        node = next;
      }
      if (!node) return copy(numbers, from, to);
      return (node.list ??= Object.freeze(copy(numbers, from, to)));
    },
  };
}
