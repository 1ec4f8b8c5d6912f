/**
 * Membership read-back for a page of grants with one search per group
 * instead of one per grant: a base search on each group the page names,
 * asking only for the members the page asks of that group, each answered
 * with only those member values (the Matched Values control, RFC 3876,
 * which OpenLDAP's slapd implements), so a 10,000-member group costs the
 * values asked for, not its whole list.
 *
 * Per group, not one search under the groups' OU for the whole page: the
 * server tests every value of a group it returns against every member the
 * control names, so one search naming the page's 100 members made each of
 * ten 10,000-member groups cost 100 × 10,000 comparisons, where the group's
 * own ten members cost 10 × 10,000. Measured on slapd with ten groups of
 * 10,000 members, pages of 100 grants (ten per group): 90-130 ms of the
 * server's CPU a page that way, 17-20 ms for the page's ten searches this
 * way; a first provisioning of 100,000 people into ten such groups took
 * slapd 173.7 s of CPU this way against 234.6 s. The price is a search per
 * group: a page of 100 grants into 100 different five-member groups costs
 * slapd ~10 ms and jml ~10 ms this way against ~3 ms each as one search
 * (with 50-member groups slapd's ~10 ms is already less than the one
 * search's 20-25 ms): a bounded cost per group, where the page-wide search
 * grew with every group's size.
 *
 * Each answer means what a base search `(member=DN)` on the group would: a
 * member value the server returned but that cannot be attributed to one
 * asked DN by its key (another spelling the server's DN matching accepts, or
 * every value because the server ignored the control) leaves that group's
 * pairs to be read alone.
 */
import { BerWriter, Control, EqualityFilter, type Entry } from 'ldapts';
import { dnKey, ldapFilter } from './ldap-escape.ts';
import { values } from './ldap-entries.ts';

/** RFC 3876's valuesReturnFilter: only the member values equal to one of `memberDns` come back. */
export class MatchedValuesControl extends Control {
  static readonly type = '1.2.826.0.1.3344810.2.3';
  readonly memberDns: readonly string[];
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
  /**
   * A base search on the group with `filter`, its `member` values filtered by `control`
   * (on a pooled connection, bounded like every other operation); a group that does not exist has no entry.
   */
  readonly readGroup: (groupDn: string, filter: string, control: Control) => Promise<Entry[]>;
  /** The one-pair read: a base search on the group. */
  readonly isMember: (groupDn: string, memberDn: string) => Promise<boolean>;
}

/** Distinct member DNs asked of one group in one search; the filter stays well below server limits. */
export const MEMBERSHIP_PAGE = 100;

/**
 * Answers every question in the order given, with one search per group (per
 * MEMBERSHIP_PAGE distinct members of it), the groups at once, plus a single
 * read for each pair a group's answer cannot attribute with certainty.
 * @example
 * const [held] = await readMemberships(deps, [{ groupDn: 'cn=staff,ou=groups,dc=corp', memberDn: 'uid=ann,ou=people,dc=corp' }]);
 */
export async function readMemberships(deps: MembershipReadDeps, questions: readonly MembershipQuestion[]): Promise<boolean[]> {
  // Each DN's key once: grouping, the answers and the look-up below all go by them.
  const keys = questions.map((q) => ({ group: dnKey(q.groupDn), member: dnKey(q.memberDn) }));
  /** Per group (by key): its DN as first asked, and the distinct members asked of it (key → DN). */
  const groups = new Map<string, { readonly dn: string; readonly members: Map<string, string> }>();
  questions.forEach((q, i) => {
    const { group: key, member } = keys[i]!;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { dn: q.groupDn, members: new Map() }));
    if (!group.members.has(member)) group.members.set(member, q.memberDn);
  });
  const searches = [...groups].flatMap(([key, group]) => {
    const members = [...group.members];
    const out: { readonly key: string; readonly dn: string; readonly page: readonly (readonly [string, string])[] }[] = [];
    for (let i = 0; i < members.length; i += MEMBERSHIP_PAGE) out.push({ key, dn: group.dn, page: members.slice(i, i + MEMBERSHIP_PAGE) });
    return out;
  });
  /** Per group key, each asked member's answer; a member is absent when its group's answer could not say. */
  const answers = new Map<string, Map<string, boolean>>();
  await Promise.all(searches.map(async ({ key, dn, page }) => {
    const filter = `(|${page.map(([, member]) => `(member=${ldapFilter`${member}`})`).join('')})`;
    const [entry] = await deps.readGroup(dn, filter, new MatchedValuesControl(page.map(([, member]) => member)));
    const held = heldIn(entry, new Set(page.map(([member]) => member)));
    if (held === null) return;
    const group = answers.get(key) ?? new Map<string, boolean>();
    answers.set(key, group);
    for (const [member] of page) group.set(member, held.has(member));
  }));
  return Promise.all(questions.map((q, i) => answers.get(keys[i]!.group)?.get(keys[i]!.member) ?? deps.isMember(q.groupDn, q.memberDn)));
}

/**
 * The asked members (by key) a group's answer holds: none when there is no entry (the group holds none of
 * them, or does not exist); null when the answer cannot say which.
 */
function heldIn(entry: Entry | undefined, asked: ReadonlySet<string>): ReadonlySet<string> | null {
  if (entry === undefined) return new Set();
  // A ranged answer (`member;range=…`, Active Directory) is a part of the list: not an answer.
  if (Object.keys(entry).some((name) => /^member;range=/i.test(name))) return null;
  const keys = values(entry, 'member').map(dnKey);
  // The group matched the filter, so it holds one of them; no value to say which (values the bind
  // account may not read) is no answer either, nor is a value nobody asked about.
  if (keys.length === 0 || !keys.every((k) => asked.has(k))) return null;
  return new Set(keys);
}
