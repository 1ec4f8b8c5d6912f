import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from 'ldapts';
import { MatchedValuesControl, readMemberships, type MembershipReadDeps } from './ldap-membership-read.ts';

const GROUPS = 'ou=groups,dc=corp';
const group = (cn: string) => `cn=${cn},${GROUPS}`;
const person = (uid: string) => `uid=${uid},ou=people,dc=corp`;
/** The server's DN matching, as far as these tests need it: case and the spaces after commas do not count. */
const same = (a: string, b: string) => a.toLowerCase().replace(/,\s+/g, ',') === b.toLowerCase().replace(/,\s+/g, ',');

/**
 * A directory holding `groups` that answers a base search on a group the way
 * a server does: no entry for a group it does not hold or that holds none of
 * the asked members, else the group with the values `answer` picks (only the
 * asked ones, as with the Matched Values control, or all of them, as a server
 * without it, or none, as to a bind account that may not read them). Counts
 * the searches and the single reads, and records what each search asked of
 * which group: its filter's members and its control's.
 */
function directory(groups: Record<string, readonly string[]>, answer: 'matched' | 'all' | 'none') {
  const counts = { searches: 0, single: 0 };
  const asked: { readonly group: string; readonly members: readonly string[]; readonly controlled: readonly string[] }[] = [];
  const deps: MembershipReadDeps = {
    readGroup: async (groupDn, filter, control) => {
      counts.searches++;
      const members = [...filter.matchAll(/\(member=([^)]*)\)/g)].map((m) => m[1]!);
      assert.ok(control instanceof MatchedValuesControl);
      asked.push({ group: groupDn, members, controlled: control.memberDns });
      const isAsked = (m: string) => members.some((a) => same(a, m));
      const held = Object.entries(groups).find(([dn]) => same(dn, groupDn))?.[1];
      if (held === undefined || !held.some(isAsked)) return [];
      return [{ dn: groupDn, member: answer === 'all' ? [...held] : answer === 'none' ? [] : held.filter(isAsked) } as Entry];
    },
    isMember: async (groupDn, memberDn) => {
      counts.single++;
      return (groups[groupDn] ?? []).some((m) => same(m, memberDn));
    },
  };
  return { deps, counts, asked };
}

const questions = [
  { groupDn: group('staff'), memberDn: person('ann') },
  { groupDn: group('staff'), memberDn: person('bob') },
  { groupDn: group('crew'), memberDn: person('ann') },
  { groupDn: group('crew'), memberDn: person('cyd') },
  { groupDn: group('empty'), memberDn: person('bob') },
];

test('a page of grants is answered by one search per group, each asking only that group\'s members, when the server returns only the asked member values, whatever their spelling', async () => {
  const { deps, counts, asked } = directory({ [group('staff')]: ['UID=Ann, OU=People, DC=corp', person('zed')], [group('crew')]: [person('cyd')], [group('empty')]: [] }, 'matched');
  assert.deepEqual(await readMemberships(deps, questions), [true, false, false, true, false]);
  assert.deepEqual(counts, { searches: 3, single: 0 });
  // A group's search names its own members, not the page's, in its filter and in its control: the server
  // tests each of the group's values against each member the control names.
  assert.deepEqual(asked.map((a) => [a.group, a.members]).sort(), [
    [group('crew'), [person('ann'), person('cyd')]],
    [group('empty'), [person('bob')]],
    [group('staff'), [person('ann'), person('bob')]],
  ]);
  for (const a of asked) assert.deepEqual(a.controlled, a.members, a.group);
});

test('a group that matches but shows no member value (values the bind account may not read) has its grants read one by one', async () => {
  const { deps, counts } = directory({ [group('staff')]: [person('ann'), person('zed')], [group('crew')]: [person('cyd')], [group('empty')]: [] }, 'none');
  assert.deepEqual(await readMemberships(deps, questions), [true, false, false, true, false]);
  // staff and crew matched: their four grants are read alone; empty matched nothing.
  assert.deepEqual(counts, { searches: 3, single: 4 });
});

test('a group answered with member values nobody asked about (a server without the Matched Values control) has its grants read one by one', async () => {
  const { deps, counts } = directory({ [group('staff')]: [person('ann'), person('zed')], [group('crew')]: [person('cyd')], [group('empty')]: [] }, 'all');
  assert.deepEqual(await readMemberships(deps, questions), [true, false, false, true, false]);
  // staff came back with zed: its two grants are read alone; crew held only asked values; empty held none of them.
  assert.deepEqual(counts, { searches: 3, single: 2 });
});

test('more distinct members of one group than a search asks are asked in several searches', async () => {
  const many = Array.from({ length: 250 }, (_, i) => ({ groupDn: group('staff'), memberDn: person(`p${i}`) }));
  const { deps, counts } = directory({ [group('staff')]: many.filter((_, i) => i % 2 === 0).map((q) => q.memberDn) }, 'matched');
  assert.deepEqual(await readMemberships(deps, many), many.map((_, i) => i % 2 === 0));
  assert.deepEqual(counts, { searches: 3, single: 0 });
});

test('a group spelled two ways is searched once, a member asked twice is named once, and a group that does not exist holds nobody', async () => {
  const { deps, counts, asked } = directory({ [group('staff')]: [person('ann')] }, 'matched');
  const twice = [
    { groupDn: group('staff'), memberDn: person('ann') },
    { groupDn: 'CN=Staff, OU=Groups, DC=corp', memberDn: 'UID=ann,ou=people,dc=corp' },
    { groupDn: group('staff'), memberDn: person('bob') },
    { groupDn: group('gone'), memberDn: person('ann') },
  ];
  assert.deepEqual(await readMemberships(deps, twice), [true, true, false, false]);
  assert.deepEqual(counts, { searches: 2, single: 0 });
  assert.deepEqual(asked.find((a) => a.group === group('staff'))?.members, [person('ann'), person('bob')]);
});
