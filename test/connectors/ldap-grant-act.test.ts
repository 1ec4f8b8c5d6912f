/**
 * A grant's act into a real OpenLDAP uses the account DN the page read-back
 * just before it found, instead of searching for the account again; and when
 * the account moved in between, the member it wrote goes again and the grant
 * is carried out at the account's new DN on the next attempt. The acts of a
 * page that add members to one group write that group once, and so do the
 * acts that take members out of one group.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change as LdapChange, type Client } from 'ldapts';
import type { Change } from '../../src/domain/change.ts';
import type { ReadBack } from '../../src/connectors/connector.ts';
import type { LdapConnector } from '../../src/connectors/ldap/index.ts';
import { adminClient, countClientCalls } from '../support/directory-clients.ts';
import { openLdapConnectorFor, addDirectoryGroups } from '../support/peer-systems.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';

const skip = openLdapSkipReason();

const change = (id: string, kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change =>
  ({ id, kind, identityKey, system: 'corp-ldap', reason: 'test', dependsOn: [], ...extra });
const create = (key: string) => change(`create:${key}`, 'create_account', key, { attributes: { uid: key.toLowerCase(), cn: `Person ${key}`, sn: key } });
const grant = (key: string, group: string) => change(`grant:${key}:${group}`, 'add_grant', key, { entitlement: group });

/** Counts the searches the connector sends until `stop`. */
const countSearches = () => {
  const calls = countClientCalls('search');
  return { stop: () => calls.stop().get('') ?? 0 };
};

/** Counts the modify operations the connector sends to each entry until `stop`. */
const countModifies = () => countClientCalls('modify', (dn) => String(dn));

const revoke = (key: string, group: string) => change(`revoke:${key}:${group}`, 'remove_grant', key, { entitlement: group });

const holds = (answers: readonly (ReadBack | Error)[]) => answers.map((a) => (a instanceof Error ? a.message : a.holds));

describe('a grant acts on the account the page read-back found, in OpenLDAP', { skip }, () => {
  let peer: OpenLdapPeer;
  let ldap: LdapConnector;
  let admin: Client;
  const dn = (uid: string) => `uid=${uid},${peer.usersOu}`;
  const members = async (group: string) =>
    [(await admin.search(`cn=${group},${peer.groupsOu}`, { scope: 'base', attributes: ['member'] })).searchEntries[0]!.member].flat().map(String).sort();

  before(async () => {
    peer = await startOpenLdap();
    ldap = openLdapConnectorFor(peer);
    admin = await adminClient(peer.ldapsUrl, peer.caPem, peer.bindDn, peer.password);
    await addDirectoryGroups(peer, ['desk', 'yard', 'dock', 'pier', 'quay', 'mole', 'slip', 'berth', 'wharf']);
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await ldap?.close();
    await peer?.stop();
  });

  test('the acts of two pages of 10 add_grants, read back one after the other as two worker loops do, search for no account, and every grant holds after', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `G${i}`);
    for (const key of keys) assert.equal((await ldap.apply(create(key))).status, 'done');
    const grants = keys.map((k) => grant(k, 'desk'));
    assert.deepEqual(holds(await ldap.readBackMany(grants.slice(0, 10))), grants.slice(0, 10).map(() => false));
    assert.deepEqual(holds(await ldap.readBackMany(grants.slice(10))), grants.slice(10).map(() => false));
    const searches = countSearches();
    const outcomes = await Promise.all(grants.map((g) => ldap.apply(g)));
    assert.equal(searches.stop(), 0, 'the acts only write');
    assert.deepEqual(outcomes.map((o) => (o.status === 'done' ? o.accountId : o.status)), keys.map((k) => dn(k.toLowerCase())));
    assert.deepEqual(holds(await ldap.readBackMany(grants)), grants.map(() => true));
  });

  test('the acts of a page of remove_grants after its read-back search for no account, and the members are out after', async () => {
    const keys = ['Rv0', 'Rv1', 'Rv2', 'Rv3'];
    for (const key of [...keys, 'RvStay']) {
      assert.equal((await ldap.apply(create(key))).status, 'done');
      assert.equal((await ldap.apply(grant(key, 'desk'))).status, 'done');
    }
    const removals = keys.map((k) => change(`revoke:${k}:desk`, 'remove_grant', k, { entitlement: 'desk' }));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => false));
    const searches = countSearches();
    const outcomes = await Promise.all(removals.map((r) => ldap.apply(r)));
    assert.equal(searches.stop(), 0, 'the acts only write');
    assert.deepEqual(outcomes.map((o) => o.status), removals.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => true));
    assert.ok((await members('desk')).includes(dn('rvstay')), 'a member not asked about stays');
  });

  test('a page of add_grants into two groups, acted on together, writes each group with one modify, and every grant holds after', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `B${i}`);
    for (const key of keys) assert.equal((await ldap.apply(create(key))).status, 'done');
    const grants = keys.map((k, i) => grant(k, i % 2 === 0 ? 'dock' : 'pier'));
    assert.deepEqual(holds(await ldap.readBackMany(grants)), grants.map(() => false));
    const modifies = countModifies();
    const outcomes = await Promise.all(grants.map((g) => ldap.apply(g)));
    assert.deepEqual(Object.fromEntries(modifies.stop()), { [`cn=dock,${peer.groupsOu}`]: 1, [`cn=pier,${peer.groupsOu}`]: 1 });
    assert.deepEqual(outcomes.map((o) => o.status), grants.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(grants)), grants.map(() => true));
    assert.deepEqual(await members('dock'), keys.filter((_, i) => i % 2 === 0).map((k) => dn(k.toLowerCase())).sort(), 'the placeholder went with the first members');
  });

  test('when one member of a page is already in its group, the others are still added and every grant of the page holds', async () => {
    const keys = ['Al0', 'Al1', 'Al2', 'Al3'];
    for (const key of keys) assert.equal((await ldap.apply(create(key))).status, 'done');
    const grants = keys.map((k) => grant(k, 'dock'));
    assert.deepEqual(holds(await ldap.readBackMany(grants)), grants.map(() => false));
    await admin.modify(`cn=dock,${peer.groupsOu}`, [new LdapChange({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn('al2')] }) })]);
    const outcomes = await Promise.all(grants.map((g) => ldap.apply(g)));
    assert.deepEqual(outcomes.map((o) => o.status), grants.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(grants)), grants.map(() => true));
  });

  /** Creates the accounts and grants each the group, one change at a time. */
  const granted = async (keys: readonly string[], group: string) => {
    for (const key of keys) {
      assert.equal((await ldap.apply(create(key))).status, 'done');
      assert.equal((await ldap.apply(grant(key, group))).status, 'done');
    }
  };

  test('a page of remove_grants from two groups, acted on together, writes each group with one modify, and every removal holds after', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `Rm${i}`);
    const groupOf = (i: number) => (i % 2 === 0 ? 'quay' : 'mole');
    for (const [i, key] of keys.entries()) await granted([key], groupOf(i));
    await granted(['RmStayQ'], 'quay');
    await granted(['RmStayM'], 'mole');
    const removals = keys.map((k, i) => revoke(k, groupOf(i)));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => false));
    const modifies = countModifies();
    const outcomes = await Promise.all(removals.map((r) => ldap.apply(r)));
    assert.deepEqual(Object.fromEntries(modifies.stop()), { [`cn=quay,${peer.groupsOu}`]: 1, [`cn=mole,${peer.groupsOu}`]: 1 });
    assert.deepEqual(outcomes.map((o) => o.status), removals.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => true));
    assert.deepEqual(await members('quay'), [dn('rmstayq')], 'the member not asked about stays');
    assert.deepEqual(await members('mole'), [dn('rmstaym')]);
  });

  test('a page of remove_grants that takes out every member of a group writes it twice whatever their number (the refused removal, then with the placeholder in), and the placeholder takes their place', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `Last${i}`);
    await granted(keys, 'slip');
    assert.deepEqual(await members('slip'), keys.map((k) => dn(k.toLowerCase())).sort(), 'the placeholder went with the first member');
    const removals = keys.map((k) => revoke(k, 'slip'));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => false));
    const modifies = countModifies();
    const outcomes = await Promise.all(removals.map((r) => ldap.apply(r)));
    assert.deepEqual(Object.fromEntries(modifies.stop()), { [`cn=slip,${peer.groupsOu}`]: 2 });
    assert.deepEqual(outcomes.map((o) => o.status), removals.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => true));
    assert.deepEqual(await members('slip'), [`cn=jml-empty-group-placeholder,${peer.baseDn}`]);

    // The group, emptied by a batch, takes its next members and lets the placeholder go again.
    const again = keys.slice(0, 2).map((k) => grant(k, 'slip'));
    assert.deepEqual(holds(await ldap.readBackMany(again)), again.map(() => false));
    assert.deepEqual((await Promise.all(again.map((g) => ldap.apply(g)))).map((o) => o.status), again.map(() => 'done'));
    assert.deepEqual(await members('slip'), keys.slice(0, 2).map((k) => dn(k.toLowerCase())).sort());
  });

  test('a member already gone from its group sends that group\'s removals one by one, each done; the page\'s other group still takes one modify', async () => {
    const inBerth = ['Gone0', 'Gone1', 'Gone2'];
    const inWharf = ['Kept0', 'Kept1', 'Kept2'];
    await granted([...inBerth, 'GoneStay'], 'berth');
    await granted([...inWharf, 'KeptStay'], 'wharf');
    const removals = [...inBerth.map((k) => revoke(k, 'berth')), ...inWharf.map((k) => revoke(k, 'wharf'))];
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => false));
    await admin.modify(`cn=berth,${peer.groupsOu}`, [new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dn('gone1')] }) })]);
    const modifies = countModifies();
    const outcomes = await Promise.all(removals.map((r) => ldap.apply(r)));
    const counted = modifies.stop();
    assert.equal(counted.get(`cn=wharf,${peer.groupsOu}`), 1);
    assert.equal(counted.get(`cn=berth,${peer.groupsOu}`), 1 + inBerth.length, 'the combined modify, refused, then each member alone');
    assert.deepEqual(outcomes.map((o) => o.status), removals.map(() => 'done'));
    assert.deepEqual(holds(await ldap.readBackMany(removals)), removals.map(() => true));
    assert.deepEqual(await members('berth'), [dn('gonestay')]);
    assert.deepEqual(await members('wharf'), [dn('keptstay')]);

    // Acted on again (a retry after a lost answer): every member is already gone, and each removal is done.
    assert.deepEqual((await Promise.all(removals.map((r) => ldap.apply(r)))).map((o) => o.status), removals.map(() => 'done'));
    assert.deepEqual(await members('berth'), [dn('gonestay')]);
  });

  test('an account renamed between the read-back and the act: the member written at its old DN goes again, the grant does not hold, and the next attempt grants the new DN', async () => {
    for (const key of ['Mv', 'Stay']) assert.equal((await ldap.apply(create(key))).status, 'done');
    const moved = grant('Mv', 'yard');
    const page = [moved, grant('Stay', 'yard')];
    assert.deepEqual(holds(await ldap.readBackMany(page)), [false, false]);
    await admin.modifyDN(dn('mv'), `uid=mv-renamed,${peer.usersOu}`);
    for (const g of page) assert.equal((await ldap.apply(g)).status, 'done');

    const after = await ldap.readBackMany(page);
    assert.deepEqual(holds(after), [false, true], 'the renamed account is not in the group; the other is');
    assert.deepEqual(await members('yard'), [dn('stay')], 'no member names the old DN');

    // The next attempt: its read-back finds the account at its new DN, and the act grants that.
    assert.equal((await ldap.apply(moved)).status, 'done');
    const again = await ldap.readBackMany([moved]);
    assert.deepEqual(again.map((a) => !(a instanceof Error) && [a.holds, a.accountId]), [[true, `uid=mv-renamed,${peer.usersOu}`]]);
    assert.deepEqual(await members('yard'), [dn('stay'), `uid=mv-renamed,${peer.usersOu}`].sort());
  });
});
