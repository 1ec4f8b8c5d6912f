/**
 * Member additions to one group, gathered: what a page of grant acts asks
 * of a directory at once goes as one modify per group instead of one per
 * grant. Each addition still gets its own answer.
 */
import { dnKey } from './ldap-escape.ts';

/** Members added to one group with one modify at most. */
const MEMBERS_PER_MODIFY = 100;

/**
 * Gathers the member additions asked for in one turn of the event loop (the
 * acts of a page of grants start together) and hands them over per group.
 * A directory reads and rewrites a group entry on every modify, so adding k
 * members one modify each costs k times the group's size (a 10,000-member
 * group's thousandth new member as much as its whole list); together, once.
 * `addTogether` answers for each member in order and does not reject.
 * @example
 * const adds = createMemberBatcher((group, members) => addMembersTogether(group, members));
 * await Promise.all([adds.add(desk, ann), adds.add(desk, bob)]); // one modify of cn=desk
 */
export function createMemberBatcher(addTogether: (groupDn: string, memberDns: readonly string[]) => Promise<PromiseSettledResult<void>[]>) {
  type Waiter = { readonly memberDn: string; readonly resolve: () => void; readonly reject: (error: unknown) => void };
  let pending = new Map<string, { readonly groupDn: string; readonly waiters: Waiter[] }>();
  const flush = () => {
    const groups = pending;
    pending = new Map();
    for (const { groupDn, waiters } of groups.values()) {
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
        void addTogether(groupDn, members.map((m) => m.dn)).then(
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
  return {
    /** Resolves when `memberDn` is in the group (or already was); rejects with the directory's refusal of it alone. */
    add(groupDn: string, memberDn: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (pending.size === 0) setImmediate(flush);
        const key = dnKey(groupDn);
        const group = pending.get(key) ?? { groupDn, waiters: [] };
        group.waiters.push({ memberDn, resolve, reject });
        pending.set(key, group);
      });
    },
  };
}
