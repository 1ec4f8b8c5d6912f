/**
 * Member changes to one group, gathered: the additions (or the removals) a
 * page of grant acts asks of a directory at once go as one modify per group
 * instead of one per grant. Each change still gets its own answer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isUrgentCall } from '../call-slots.ts';
import { dnKey } from './ldap-escape.ts';

/** Members added to (or removed from) one group with one modify at most. */
const MEMBERS_PER_MODIFY = 100;

/** Writes one change (add or delete) of several members of one group; answers for each member in order and does not reject. */
export type MembersTogether = (groupDn: string, memberDns: readonly string[]) => Promise<PromiseSettledResult<void>[]>;

/**
 * Gathers the member changes of one kind asked for in one turn of the event
 * loop (the acts of a page of grants start together) and hands them over per
 * group. A directory reads and rewrites a group entry on every modify, so
 * changing k members one modify each costs k times the group's size (a
 * 10,000-member group's thousandth new member as much as its whole list);
 * together, once.
 *
 * Urgent calls (a leaver's lock-out, call-slots.ts) are gathered apart from
 * the others and written in their caller's async context: an urgent change
 * never waits for a slot behind ordinary ones, and ordinary changes asked for
 * in the same turn never borrow its urgency.
 * @example
 * const addMember = createMemberBatcher((group, members) => addMembersTogether(group, members));
 * await Promise.all([addMember(desk, ann), addMember(desk, bob)]); // one modify of cn=desk
 */
export function createMemberBatcher(together: MembersTogether): (groupDn: string, memberDn: string) => Promise<void> {
  type Waiter = { readonly memberDn: string; readonly resolve: () => void; readonly reject: (error: unknown) => void };
  type Batch = { readonly groupDn: string; readonly inContext: <R>(fn: () => R) => R; readonly waiters: Waiter[] };
  let pending = new Map<string, Batch>();
  const flush = () => {
    const batches = pending;
    pending = new Map();
    for (const { groupDn, inContext, waiters } of batches.values()) {
      for (let i = 0; i < waiters.length; i += MEMBERS_PER_MODIFY) {
        const slice = waiters.slice(i, i + MEMBERS_PER_MODIFY);
        // The same account twice in a slice (two changes of one grant) is one value of the modify.
        const byMember = new Map<string, { readonly dn: string; readonly waiters: Waiter[] }>();
        for (const w of slice) {
          const seen = byMember.get(dnKey(w.memberDn));
          if (seen) seen.waiters.push(w);
          else byMember.set(dnKey(w.memberDn), { dn: w.memberDn, waiters: [w] });
        }
        const members = [...byMember.values()];
        void inContext(() => together(groupDn, members.map((m) => m.dn))).then(
          (results) => {
            results.forEach((result, j) => {
              for (const w of members[j]!.waiters) {
                if (result.status === 'fulfilled') w.resolve();
                else w.reject(result.reason);
              }
            });
          },
          (error: unknown) => {
            for (const w of slice) w.reject(error);
          },
        );
      }
    }
  };
  /** Resolves when the change of `memberDn` holds (or already did); rejects with the directory's refusal of it alone. */
  return (groupDn, memberDn) =>
    new Promise<void>((resolve, reject) => {
      if (pending.size === 0) setImmediate(flush);
      const key = batchKey(isUrgentCall(), groupDn);
      const batch: Batch = pending.get(key) ?? { groupDn, inContext: AsyncLocalStorage.snapshot(), waiters: [] };
      batch.waiters.push({ memberDn, resolve, reject });
      pending.set(key, batch);
    });
}

/** One batch per group and urgency. */
function batchKey(urgent: boolean, groupDn: string): string {
  return `${urgent ? 'urgent' : 'other'}:${dnKey(groupDn)}`;
}
