import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client, Entry } from 'ldapts';
import { readMemberships, type MembershipReadDeps } from './ldap-membership-read.ts';

const GROUPS = 'ou=groups,dc=corp';
const group = (cn: string) => `cn=${cn},${GROUPS}`;
const person = (uid: string) => `uid=${uid},ou=people,dc=corp`;
/** The server's DN matching, as far as these tests need it: case and the spaces after commas do not count. */
const same = (a: string, b: string) => a.toLowerCase().replace(/,\s+/g, ',') === b.toLowerCase().replace(/,\s+/g, ',');

/**
 * A directory holding `groups` that answers the page's search the way a server
 * does: the groups holding an asked member, with the values `answer` picks
 * (only the asked ones, as with the Matched Values control, or all of them,
 * as a server without it). Counts the searches and the single reads.
 */
function directory(groups: Record<string, readonly string[]>, answer: 'matched' | 'all') {
  const counts = { searches: 0, single: 0 };
  const deps: MembershipReadDeps = {
    groupsOu: GROUPS,
    pageSize: 500,
    run: async (_base, fn) => {
      counts.searches++;
      const client = {
        search: async (_base: string, options: { filter: string }) => {
          const asked = [...options.filter.matchAll(/\(member=([^)]*)\)/g)].map((m) => m[1]!);
          const isAsked = (m: string) => asked.some((a) => same(a, m));
          const searchEntries: Entry[] = Object.entries(groups)
            .filter(([, members]) => members.some(isAsked))
            .map(([dn, members]) => ({ dn, member: answer === 'all' ? [...members] : members.filter(isAsked) }));
          return { searchEntries, searchReferences: [] };
        },
      } as unknown as Client;
      return fn(client);
    },
    isMember: async (groupDn, memberDn) => {
      counts.single++;
      return (groups[groupDn] ?? []).some((m) => same(m, memberDn));
    },
  };
  return { deps, counts };
}

const questions = [
  { groupDn: group('staff'), memberDn: person('ann') },
  { groupDn: group('staff'), memberDn: person('bob') },
  { groupDn: group('crew'), memberDn: person('ann') },
  { groupDn: group('crew'), memberDn: person('cyd') },
  { groupDn: group('empty'), memberDn: person('bob') },
];

test('a page of grants is answered by one search when the server returns only the asked member values, whatever their spelling', async () => {
  const { deps, counts } = directory({ [group('staff')]: ['UID=Ann, OU=People, DC=corp', person('zed')], [group('crew')]: [person('cyd')], [group('empty')]: [] }, 'matched');
  assert.deepEqual(await readMemberships(deps, questions), [true, false, false, true, false]);
  assert.deepEqual(counts, { searches: 1, single: 0 });
});

test('a group answered with member values nobody asked about (a server without the Matched Values control) has its grants read one by one', async () => {
  const { deps, counts } = directory({ [group('staff')]: [person('ann'), person('zed')], [group('crew')]: [person('cyd')], [group('empty')]: [] }, 'all');
  assert.deepEqual(await readMemberships(deps, questions), [true, false, false, true, false]);
  // staff came back with zed: its two grants are read alone; crew held only asked values; empty held none of them.
  assert.deepEqual(counts, { searches: 1, single: 2 });
});

test('more distinct members than a page holds are asked in several searches', async () => {
  const many = Array.from({ length: 250 }, (_, i) => ({ groupDn: group('staff'), memberDn: person(`p${i}`) }));
  const { deps, counts } = directory({ [group('staff')]: many.filter((_, i) => i % 2 === 0).map((q) => q.memberDn) }, 'matched');
  assert.deepEqual(await readMemberships(deps, many), many.map((_, i) => i % 2 === 0));
  assert.deepEqual(counts, { searches: 3, single: 0 });
});
