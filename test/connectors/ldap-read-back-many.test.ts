/**
 * Reading back a page of changes at once against a real OpenLDAP: one search
 * finds the page's accounts, and every change is answered exactly as its own
 * read-back would answer it — an entry changed behind jml's back is the one
 * that does not hold, in the connector and through the executor. And the
 * bound on operations a process has in flight at the directory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Change as LdapChange, Attribute, type Client } from 'ldapts';
import type { Change, Plan } from '../../src/domain/change.ts';
import type { Connector, ReadBack } from '../../src/connectors/connector.ts';
import type { LdapConnector } from '../../src/connectors/ldap/index.ts';
import { createLdapPool } from '../../src/connectors/ldap/ldap-pool.ts';
import { parseLdapSettings } from '../../src/connectors/ldap/ldap-settings.ts';
import { applyChanges } from '../../src/app/apply-change.ts';
import { recordPlan } from '../../src/app/plan-record-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { adminClient, countClientCalls } from '../support/directory-clients.ts';
import { openLdapConnectorFor, addDirectoryGroups } from '../support/peer-systems.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';

const skip = openLdapSkipReason();

const change = (id: string, kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change =>
  ({ id, kind, identityKey, system: 'corp-ldap', reason: 'test', dependsOn: [], ...extra });
const create = (key: string) => change(`create:${key}`, 'create_account', key, { attributes: { uid: key.toLowerCase(), cn: `Person ${key}`, sn: key } });
const grant = (key: string, group = 'staff') => change(`grant:${key}:${group}`, 'add_grant', key, { entitlement: group });

/** The searches asking for members, by their base and scope (`cn=team,… base`). */
const countMemberSearches = () => {
  const calls = countClientCalls('search', (base, options) => (typeof options?.filter === 'string' && options.filter.includes('(member=') ? `${base} ${options.scope}` : null));
  return { stop: () => calls.stop() };
};

/** What a read-back says, in a form two answers can be compared by. */
const summary = (answer: ReadBack | Error) => (answer instanceof Error ? `error: ${answer.message}` : `${answer.holds} ${answer.accountId ?? '-'} ${answer.detail ?? ''}`.trim());

describe('reading back a page of changes in OpenLDAP', { skip }, () => {
  let peer: OpenLdapPeer;
  let ldap: LdapConnector;
  let admin: Client;
  const dn = (key: string) => `uid=${key.toLowerCase()},${peer.usersOu}`;
  /** Behind jml's back: a directory administrator takes a member out of a group. */
  const removeMember = (group: string, key: string) =>
    admin.modify(`cn=${group},${peer.groupsOu}`, [new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dn(key)] }) })]);

  before(async () => {
    peer = await startOpenLdap();
    ldap = openLdapConnectorFor(peer);
    admin = await adminClient(peer.ldapsUrl, peer.caPem, peer.bindDn, peer.password);
    await addDirectoryGroups(peer, ['staff', 'crew', 'team', 'guild', 'north', 'south']);
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await ldap?.close();
    await peer?.stop();
  });

  test('no more operations than max_in_flight are in flight at once, and the ones waiting all run', async () => {
    const pool = createLdapPool(parseLdapSettings({
      system: 'corp-ldap', flavour: 'openldap', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
      baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu, connections: 2, maxInFlight: 3,
    }));
    try {
      let inFlight = 0;
      let most = 0;
      const found = await Promise.all(Array.from({ length: 12 }, () => pool.run('search', peer.groupsOu, async (client) => {
        most = Math.max(most, ++inFlight);
        try {
          return (await client.search(peer.groupsOu, { scope: 'base', attributes: ['1.1'] })).searchEntries.length;
        } finally {
          inFlight--;
        }
      })));
      assert.deepEqual(found, Array(12).fill(1));
      assert.equal(most, 3);
    } finally {
      await pool.close();
    }
  });

  test('a page read back at once answers every change as its own read-back does, and the entries changed behind jml\'s back are the ones that do not hold', async () => {
    const keys = ['R0', 'R1', 'R2', 'R3', 'R4', 'R5'];
    for (const key of keys) {
      assert.equal((await ldap.apply(create(key))).status, 'done');
      assert.equal((await ldap.apply(grant(key))).status, 'done');
    }
    await admin.del(dn('R2'));
    await removeMember('staff', 'R4');
    // Never created; and R1 once more under a correlation value that differs only in case (employeeNumber matches ignoring case).
    const page = [...keys.map(create), ...keys.map((k) => grant(k)), create('R9'), grant('R9'), change('create:r1', 'create_account', 'r1')];
    const many = await ldap.readBackMany(page);
    const single = await Promise.all(page.map((c) => ldap.readBack(c).catch((error: Error) => error)));
    assert.deepEqual(many.map(summary), single.map(summary), 'the page answers as the changes one by one');
    assert.deepEqual(many.map((a) => !(a instanceof Error) && a.holds), [
      true, true, false, true, true, true,
      true, true, false, true, false, true,
      false, false, true,
    ]);
  });

  test('a page of grants reads its memberships with one base search per group, answering each grant as its own read-back does, a member taken out behind jml\'s back included', async () => {
    const keys = ['M0', 'M1', 'M2', 'M3', 'M4'];
    for (const key of keys) {
      assert.equal((await ldap.apply(create(key))).status, 'done');
      for (const group of ['team', 'guild']) assert.equal((await ldap.apply(grant(key, group))).status, 'done');
    }
    await removeMember('guild', 'M1');
    await removeMember('team', 'M3');
    const removals = keys.map((k) => change(`revoke:${k}:guild`, 'remove_grant', k, { entitlement: 'guild' }));
    const page = [...keys.map((k) => grant(k, 'team')), ...keys.map((k) => grant(k, 'guild')), ...removals];
    const memberSearches = countMemberSearches();
    const many = await ldap.readBackMany(page);
    assert.deepEqual(Object.fromEntries(memberSearches.stop()), { [`cn=team,${peer.groupsOu} base`]: 1, [`cn=guild,${peer.groupsOu} base`]: 1 }, 'one search of each group answers every grant of the page');
    const single = await Promise.all(page.map((c) => ldap.readBack(c).catch((error: Error) => error)));
    assert.deepEqual(many.map(summary), single.map(summary), 'the page answers as the grants one by one');
    assert.deepEqual(many.map((a) => !(a instanceof Error) && a.holds), [
      true, true, true, false, true,
      true, false, true, true, true,
      false, true, false, false, false,
    ]);
  });

  test('through the executor, the grants of a batch of 200 into two groups go to the directory as one modify of each group', async () => {
    const store: Store = await testBackends()[0]!.open();
    try {
      const keys = Array.from({ length: 200 }, (_, i) => `G${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((key) => ldap.apply(create(key))));
      const plan: Plan = { id: 'plan-member-modifies', computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes: keys.map((k, i) => grant(k, i % 2 === 0 ? 'north' : 'south')) };
      await recordPlan(store.db, plan, 'test', new Date());
      const modifies = countClientCalls('modify', (dn) => String(dn));
      const results = await applyChanges({ db: store.db, actor: 'test', connectorFor: () => ldap }, plan.id, plan.changes);
      const counts = Object.fromEntries(modifies.stop());
      assert.deepEqual(new Set(results.map((r) => r.state)), new Set(['confirmed']));
      // A directory rewrites a group entry on every modify: a 10,000-member group's cost per grant
      // is its size divided by the members each modify carries.
      assert.deepEqual(counts, { [`cn=north,${peer.groupsOu}`]: 1, [`cn=south,${peer.groupsOu}`]: 1 }, 'the acts of the batch start together, so each group gets its 100 new members at once');
      for (const group of ['north', 'south']) {
        const members = [(await admin.search(`cn=${group},${peer.groupsOu}`, { scope: 'base', attributes: ['member'] })).searchEntries[0]!.member].flat();
        assert.equal(members.length, 100, `${group} holds its 100 members and no placeholder`);
      }
    } finally {
      await store.close();
    }
  });

  test('through the executor, a batch whose grant is taken away between its act and its read-back confirms the others and not that one, with one page read per read-back', async () => {
    const store: Store = await testBackends()[0]!.open();
    try {
      const keys = ['B0', 'B1', 'B2', 'B3'];
      for (const key of [...keys, 'BX']) await ldap.apply(create(key));
      // A member already there: taking B2 out never leaves the group empty, whichever act runs first.
      await ldap.apply(grant('BX', 'crew'));
      const asked = { pages: 0, single: 0 };
      const directory: Connector = {
        describe: () => ldap.describe(),
        validate: () => ldap.validate(),
        list: (kind, cursor, size) => ldap.list(kind, cursor, size),
        readBack: (c) => (asked.single++, ldap.readBack(c)),
        readBackMany: (changes) => (asked.pages++, ldap.readBackMany(changes)),
        async apply(c) {
          const outcome = await ldap.apply(c);
          if (c.identityKey === 'B2') await removeMember('crew', 'B2');
          return outcome;
        },
      };
      const plan: Plan = { id: 'plan-page-read-back', computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes: keys.map((k) => grant(k, 'crew')) };
      await recordPlan(store.db, plan, 'test', new Date());
      const results = await applyChanges({ db: store.db, actor: 'test', connectorFor: () => directory }, plan.id, plan.changes);
      assert.deepEqual(results.map((r) => r.state), ['confirmed', 'confirmed', 'retry', 'confirmed']);
      assert.match(results[2]!.lastError ?? '', /read-back does not hold/);
      assert.deepEqual(asked, { pages: 2, single: 0 });
      const members = (await admin.search(`cn=crew,${peer.groupsOu}`, { scope: 'base', attributes: ['member'] })).searchEntries[0]!.member;
      assert.deepEqual([members].flat().sort(), [dn('B0'), dn('B1'), dn('B3'), dn('BX')], 'the placeholder went with the first member, and B2 is out');
    } finally {
      await store.close();
    }
  });
});
