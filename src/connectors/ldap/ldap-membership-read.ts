/**
 * Membership read-back for a page of grants with one search instead of one
 * per grant: the groups under groupsOu holding any of the page's members,
 * each answered with only those member values (the Matched Values control,
 * RFC 3876, which OpenLDAP's slapd implements), so a 10,000-member group
 * costs the values asked for, not its whole list.
 *
 * Each answer means what a base search `(member=DN)` on the group would: a
 * member value the server returned but that cannot be attributed to one
 * asked DN by its key (another spelling the server's DN matching accepts, or
 * every value because the server ignored the control) leaves that group's
 * pairs to be read alone.
 */
import { BerWriter, Control, EqualityFilter, type Client, type Entry } from 'ldapts';
import { dnKey, ldapFilter } from './ldap-escape.ts';
import { values } from './ldap-entries.ts';

/** RFC 3876's valuesReturnFilter: only the member values equal to one of `memberDns` come back. */
class MatchedValuesControl extends Control {
  static readonly type = '1.2.826.0.1.3344810.2.3';
  private readonly memberDns: readonly string[];
  constructor(memberDns: readonly string[]) {
    // Not critical: a server without it returns every value, which the attribution below notices.
    super(MatchedValuesControl.type, { critical: false });
    this.memberDns = memberDns;
  }
  override writeControl(writer: BerWriter): void {
    const items = new BerWriter();
    items.startSequence();
    for (const dn of this.memberDns) new EqualityFilter({ attribute: 'member', value: dn }).write(items);
    items.endSequence();
    writer.writeBuffer(items.buffer, 0x04);
  }
}

/** One grant's membership to read: is `memberDn` a member of `groupDn`? */
export interface MembershipQuestion {
  readonly groupDn: string;
  readonly memberDn: string;
}

export interface MembershipReadDeps {
  /** Runs a search on a pooled connection (bounded like every other operation). */
  readonly run: (base: string, fn: (client: Client) => Promise<Entry[]>) => Promise<Entry[]>;
  /** Where every group lives (groupDn looks groups up there only). */
  readonly groupsOu: string;
  readonly pageSize: number;
  /** The one-pair read: a base search on the group. */
  readonly isMember: (groupDn: string, memberDn: string) => Promise<boolean>;
}

/** Distinct member DNs asked in one search; the filter stays well below server limits. */
export const MEMBERSHIP_PAGE = 100;

/**
 * Answers every question in the order given, with one search per
 * MEMBERSHIP_PAGE distinct members, plus a single read for each pair the
 * page's answer cannot attribute with certainty.
 * @example
 * const [held] = await readMemberships(deps, [{ groupDn: 'cn=staff,ou=groups,dc=corp', memberDn: 'uid=ann,ou=people,dc=corp' }]);
 */
export async function readMemberships(deps: MembershipReadDeps, questions: readonly MembershipQuestion[]): Promise<boolean[]> {
  const members = [...new Map(questions.map((q) => [dnKey(q.memberDn), q.memberDn])).values()];
  const answers: (boolean | undefined)[] = questions.map(() => undefined);
  for (let i = 0; i < members.length; i += MEMBERSHIP_PAGE) {
    const page = members.slice(i, i + MEMBERSHIP_PAGE);
    const asked = new Set(page.map(dnKey));
    const filter = `(|${page.map((dn) => `(member=${ldapFilter`${dn}`})`).join('')})`;
    const groups = await deps.run(deps.groupsOu, async (client) =>
      (await client.search(deps.groupsOu, { scope: 'sub', filter, attributes: ['member'], paged: { pageSize: deps.pageSize } }, new MatchedValuesControl(page))).searchEntries);
    /** Per group: the asked members it holds, or null when a returned value is not one of them by key. */
    const held = new Map<string, Set<string> | null>();
    for (const group of groups) {
      // A ranged answer (`member;range=…`, Active Directory) is a part of the list: not an answer.
      const ranged = Object.keys(group).some((name) => /^member;range=/i.test(name));
      const keys = values(group, 'member').map(dnKey);
      held.set(dnKey(group.dn), !ranged && keys.every((k) => asked.has(k)) ? new Set(keys) : null);
    }
    questions.forEach((q, n) => {
      const member = dnKey(q.memberDn);
      if (!asked.has(member)) return;
      const holds = held.get(dnKey(q.groupDn));
      if (holds === undefined) answers[n] = false;
      else if (holds !== null) answers[n] = holds.has(member);
    });
  }
  return Promise.all(questions.map((q, n) => answers[n] ?? deps.isMember(q.groupDn, q.memberDn)));
}
