/**
 * The LDAP connector in its Active Directory flavour against a real Samba AD
 * domain controller (test/peers/samba-ad.ts). Kept to the essentials: a DC
 * takes seconds to start and holds fixed ports, so one per file. A page of
 * grant acts writes each group once, additions and removals alike (AD keeps
 * an empty group: no placeholder).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Attribute, Change as LdapChange, Client, EqualityFilter, InvalidCredentialsError } from 'ldapts';
import type { Change } from '../../src/domain/change.ts';
import type { Account, Grant } from '../../src/domain/access.ts';
import { describeConformance, walkAll } from '../../src/connectors/conformance/conformance-suite.ts';
import { createLdapConnector, dnKey, parseDn, type LdapConnector } from '../../src/connectors/ldap/index.ts';
import { parentDn } from '../../src/connectors/ldap/ldap-escape.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { freePort } from '../peers/peer-process.ts';
import { changeLines, departmentPolicy, employee, planAndApply } from '../support/department-groups.ts';
import { countClientCalls } from '../support/directory-clients.ts';

const skip = sambaAdSkipReason();
const SYSTEM = 'corp-ad';

let shared: Promise<SambaAdPeer> | null = null;
const peerOnce = () => (shared ??= startSambaAd());
after(async () => {
  if (shared) await (await shared).stop();
});

function settingsFor(peer: SambaAdPeer) {
  return {
    system: SYSTEM, flavour: 'ad', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
    baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
  };
}

async function admin(peer: SambaAdPeer): Promise<Client> {
  const client = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
  await client.bind(peer.bindDn, peer.password);
  return client;
}

async function ensureGroup(peer: SambaAdPeer, name: string): Promise<void> {
  const client = await admin(peer);
  await client
    .add(`CN=${name},${peer.groupsOu}`, { objectClass: ['top', 'group'], sAMAccountName: name })
    .catch((e: { code?: number }) => { if (e.code !== 68) throw e; });
  await client.unbind();
}

/** The bind result: true, or the AD sub-code from the diagnostic (`data 533` = disabled). */
async function bindAs(peer: SambaAdPeer, dn: string, password: string): Promise<true | string> {
  const client = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
  try {
    await client.bind(dn, password);
    return true;
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return /data ([0-9a-f]+)/i.exec(error.message)?.[1] ?? error.message;
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

let seq = 0;
const change = (kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change =>
  ({ id: `ad${++seq}`, kind, identityKey, system: SYSTEM, reason: 'test', dependsOn: [], ...extra });

if (skip) {
  test('LDAP connector on Samba AD', { skip }, () => undefined);
} else {
  describeConformance('ad (Samba AD)', async () => {
    const peer = await peerOnce();
    const connector = createLdapConnector(settingsFor(peer));
    const others: LdapConnector[] = [];
    return {
      connector,
      system: SYSTEM,
      seedEntitlement: async (name) => { await ensureGroup(peer, name); return name; },
      accountAttributes: (key) => ({ cn: `Person ${key}`, sAMAccountName: key, sn: key, givenName: 'Conformance' }),
      attributeUpdate: { title: 'Conformance tester' },
      async unreachable() {
        const down = createLdapConnector({ ...settingsFor(peer), url: `ldap://127.0.0.1:${await freePort()}` });
        others.push(down);
        return down;
      },
      async close() {
        await connector.close();
        for (const o of others) await o.close();
      },
    };
  });

  describe('LDAP connector on Samba AD', () => {
    test('a disabled user cannot bind (data 533); enabling restores it; a rename keeps the groups', async () => {
      const peer = await peerOnce();
      const ad = createLdapConnector(settingsFor(peer));
      try {
        await ensureGroup(peer, 'ad-developers');
        const password = 'Jml-Test-Pass-42!';
        const made = await ad.apply(change('create_account', 'AD1', { attributes: { cn: 'Ada Lovelace', sAMAccountName: 'alovelace', sn: 'Lovelace', password } }));
        assert.deepEqual(made, { status: 'done', accountId: `CN=Ada Lovelace,${peer.usersOu}` });
        const dn = made.status === 'done' ? made.accountId! : '';
        const account = (await walkAll(ad, 'accounts', 1000)).items.find((a: Account) => a.name === 'alovelace');
        assert.equal(account?.enabled, true);
        assert.equal(account?.attributes.userPrincipalName, 'alovelace@samdom.example.com');
        assert.equal(await bindAs(peer, dn, password), true);

        assert.equal((await ad.apply(change('add_grant', 'AD1', { entitlement: 'ad-developers' }))).status, 'done');
        const disable = change('disable_account', 'AD1');
        await ad.apply(disable);
        assert.equal((await ad.readBack(disable)).holds, true);
        assert.equal(await bindAs(peer, dn, password), '533');
        await ad.apply(change('enable_account', 'AD1'));
        assert.equal(await bindAs(peer, dn, password), true);

        const rename = change('update_attributes', 'AD1', { accountId: dn, attributes: { cn: 'Ada King', sn: 'King' } });
        const renamed = await ad.apply(rename);
        assert.deepEqual(renamed, { status: 'done', accountId: `CN=Ada King,${peer.usersOu}` });
        assert.equal((await ad.readBack(rename)).holds, true);
        const grants = (await walkAll(ad, 'grants', 1000)).items.filter((g: Grant) => g.entitlement === 'ad-developers');
        assert.deepEqual(grants.map((g) => g.accountId.toLowerCase()), [`cn=ada king,${peer.usersOu}`.toLowerCase()]);
      } finally {
        await ad.close();
      }
    });

    test('injection payloads stay literal, and listing from the domain root ignores continuation references', async () => {
      const peer = await peerOnce();
      const ad = createLdapConnector(settingsFor(peer));
      const fromRoot = createLdapConnector({ ...settingsFor(peer), usersOu: peer.baseDn });
      try {
        const before = (await walkAll(ad, 'accounts', 1000)).items.map((a) => a.accountId);
        assert.deepEqual(await ad.readBack(change('create_account', '*)(sAMAccountName=*))(|(sAMAccountName=*')), { holds: false, detail: 'no account yet' });
        const sneaky = await ad.apply(change('create_account', 'AD2', { attributes: { cn: 'x,OU=admins', sAMAccountName: 'xadmins' } }));
        assert.equal(sneaky.status, 'done');
        const after = (await walkAll(ad, 'accounts', 1000)).items;
        const added = after.filter((a) => !before.includes(a.accountId));
        assert.equal(added.length, 1);
        assert.equal(added[0]!.attributes.cn, 'x,OU=admins');
        assert.equal(sneaky.status === 'done' && sneaky.accountId, added[0]!.accountId);
        const rdns = parseDn(added[0]!.accountId);
        assert.deepEqual(rdns[0], { attribute: 'CN', value: 'x,OU=admins' });
        assert.equal(dnKey(parentDn(added[0]!.accountId)), dnKey(peer.usersOu), 'created in the users container, not in OU=admins');

        const rootAccounts = (await walkAll(fromRoot, 'accounts', 1000)).items;
        assert.ok(rootAccounts.some((a) => a.name === 'Administrator'));
        assert.ok(!rootAccounts.some((a) => a.name.endsWith('$')), 'computer accounts are not user accounts');
      } finally {
        await ad.close();
        await fromRoot.close();
      }
    });

    /** The group's members as the DC lists them, by DN key. */
    const membersOf = async (client: Client, groupDn: string) =>
      [(await client.search(groupDn, { scope: 'base', attributes: ['member'] })).searchEntries[0]?.member ?? []].flat().map((m) => dnKey(String(m))).sort();
    /** A page of grant changes read back together, then acted on together (as the executor does), then read back again. */
    const actOnPage = async (ad: LdapConnector, page: readonly Change[]) => {
      const before = await ad.readBackMany(page);
      assert.deepEqual(before.map((a) => (a instanceof Error ? a.message : a.holds)), page.map(() => false));
      const modifies = countClientCalls('modify', (dn) => dnKey(String(dn)));
      const outcomes = await Promise.all(page.map((c) => ad.apply(c)));
      const counted = modifies.stop();
      assert.deepEqual(outcomes.map((o) => o.status), page.map(() => 'done'));
      const after = await ad.readBackMany(page);
      assert.deepEqual(after.map((a) => (a instanceof Error ? a.message : a.holds)), page.map(() => true), 'each change confirmed by its own read-back');
      return counted;
    };

    test('a page of add_grants into one group is one modify on the DC, and a page of remove_grants taking every member out is one modify that leaves the group empty', async () => {
      const peer = await peerOnce();
      const ad = createLdapConnector(settingsFor(peer));
      const client = await admin(peer);
      const run = randomBytes(2).toString('hex');
      const group = `batch-${run}`;
      try {
        await ensureGroup(peer, group);
        const groupDn = dnKey(`CN=${group},${peer.groupsOu}`);
        const keys = Array.from({ length: 8 }, (_, i) => `BA${i}${run}`);
        const dns: string[] = [];
        for (const key of keys) {
          const made = await ad.apply(change('create_account', key, { attributes: { cn: `Batch ${key}`, sAMAccountName: key.toLowerCase(), sn: key } }));
          assert.equal(made.status, 'done');
          dns.push(dnKey(made.status === 'done' ? made.accountId! : ''));
        }
        const adds = await actOnPage(ad, keys.map((k) => change('add_grant', k, { entitlement: group })));
        assert.deepEqual(Object.fromEntries(adds), { [groupDn]: 1 });
        assert.deepEqual(await membersOf(client, groupDn), [...dns].sort());

        const removals = await actOnPage(ad, keys.map((k) => change('remove_grant', k, { entitlement: group })));
        assert.deepEqual(Object.fromEntries(removals), { [groupDn]: 1 }, 'AD keeps an empty group: no placeholder, no second write');
        assert.deepEqual(await membersOf(client, groupDn), []);
      } finally {
        await client.unbind();
        await ad.close();
      }
    });

    test('a member already in (or already out of) its group sends that group\'s members one by one on the DC, each grant done and confirmed; the page\'s other group still takes one modify', async () => {
      const peer = await peerOnce();
      const ad = createLdapConnector(settingsFor(peer));
      const client = await admin(peer);
      const run = randomBytes(2).toString('hex');
      const [mixed, plain] = [`mixed-${run}`, `plain-${run}`];
      try {
        for (const g of [mixed, plain]) await ensureGroup(peer, g);
        const [mixedDn, plainDn] = [mixed, plain].map((g) => dnKey(`CN=${g},${peer.groupsOu}`)) as [string, string];
        const keys = Array.from({ length: 6 }, (_, i) => `BM${i}${run}`);
        const dns: string[] = [];
        for (const key of keys) {
          const made = await ad.apply(change('create_account', key, { attributes: { cn: `Mixed ${key}`, sAMAccountName: key.toLowerCase(), sn: key } }));
          dns.push(made.status === 'done' ? made.accountId! : '');
        }
        const groupOf = (i: number) => (i < 3 ? mixed : plain);
        const memberChange = (operation: 'add' | 'delete', dn: string) =>
          new LdapChange({ operation, modification: new Attribute({ type: 'member', values: [dn] }) });

        // Someone adds one of the page's members by hand between the read-back and the acts.
        const grants = keys.map((k, i) => change('add_grant', k, { entitlement: groupOf(i) }));
        const before = await ad.readBackMany(grants);
        assert.deepEqual(before.map((a) => !(a instanceof Error) && a.holds), grants.map(() => false));
        await client.modify(mixedDn, [memberChange('add', dns[1]!)]);
        const adds = countClientCalls('modify', (dn) => dnKey(String(dn)));
        assert.deepEqual((await Promise.all(grants.map((g) => ad.apply(g)))).map((o) => o.status), grants.map(() => 'done'));
        const added = adds.stop();
        assert.equal(added.get(plainDn), 1);
        assert.equal(added.get(mixedDn), 1 + 3, 'the combined modify, refused, then each member alone');
        assert.deepEqual((await ad.readBackMany(grants)).map((a) => !(a instanceof Error) && a.holds), grants.map(() => true));

        // And takes one out by hand before the removals act.
        const removals = keys.map((k, i) => change('remove_grant', k, { entitlement: groupOf(i) }));
        assert.deepEqual((await ad.readBackMany(removals)).map((a) => !(a instanceof Error) && a.holds), removals.map(() => false));
        await client.modify(mixedDn, [memberChange('delete', dns[2]!)]);
        const removes = countClientCalls('modify', (dn) => dnKey(String(dn)));
        assert.deepEqual((await Promise.all(removals.map((r) => ad.apply(r)))).map((o) => o.status), removals.map(() => 'done'));
        const removed = removes.stop();
        assert.equal(removed.get(plainDn), 1);
        assert.equal(removed.get(mixedDn), 1 + 3, 'the combined modify, refused, then each member alone');
        assert.deepEqual((await ad.readBackMany(removals)).map((a) => !(a instanceof Error) && a.holds), removals.map(() => true));
        assert.deepEqual(await membersOf(client, mixedDn), []);
        assert.deepEqual(await membersOf(client, plainDn), []);

        // Acted on again (a retry after a lost answer): every member is already out, and each removal is done.
        assert.deepEqual((await Promise.all(removals.map((r) => ad.apply(r)))).map((o) => o.status), removals.map(() => 'done'));
      } finally {
        await client.unbind();
        await ad.close();
      }
    });

    test('an identity in a new department gets a global security group jml creates, and the DC shows the membership', async () => {
      const peer = await peerOnce();
      const ad = createLdapConnector(settingsFor(peer));
      const client = await admin(peer);
      const run = randomBytes(2).toString('hex');
      try {
        const policy = departmentPolicy(SYSTEM, 'ad', { name: null, attributes: { cn: '{first_name} {last_name}', sn: '{last_name}' } }, { account: 'employeeNumber', identity: 'key' });
        const [k1, k2] = [`DG1${run}`, `DG2${run}`];
        const rndName = `dept-r&d, europe ${run}`;
        const salesName = `dept-sales+ops ${run}`;
        const identities = [employee(k1, `R&D, Europe ${run}`), employee(k2, `Sales+Ops ${run}`), employee(`DG3${run}`, null)];
        const first = await planAndApply(ad, 'ad', policy, identities);
        assert.deepEqual(changeLines(first, k1), [`create_group ${rndName}`, 'create_account', `add_grant ${rndName}`]);
        assert.deepEqual(changeLines(first, `DG3${run}`), []);

        // Read the DC itself, not through jml.
        const group = async (cn: string) =>
          (await client.search(peer.groupsOu, { filter: new EqualityFilter({ attribute: 'cn', value: cn }), attributes: ['member', 'groupType', 'sAMAccountName', 'description'] })).searchEntries;
        const userDn = async (key: string) =>
          (await client.search(peer.usersOu, { filter: new EqualityFilter({ attribute: 'employeeNumber', value: key }), attributes: ['1.1'] })).searchEntries[0]?.dn;
        const [rnd, ...more] = await group(rndName);
        assert.equal(more.length, 0);
        assert.equal(rnd?.groupType, '-2147483646', 'a global security group');
        assert.equal(rnd?.sAMAccountName, `dept-r&d- europe ${run}`, 'the comma AD refuses in sAMAccountName became a dash');
        assert.equal(rnd?.description, `Members of R&D, Europe ${run}`);
        assert.equal(parseDn(rnd!.dn)[0]?.value, rndName, 'the comma stayed inside one RDN');
        assert.deepEqual([rnd?.member].flat().map((m) => dnKey(String(m))), [dnKey((await userDn(k1))!)]);
        const [sales] = await group(salesName);
        assert.deepEqual([sales?.member].flat().map((m) => dnKey(String(m))), [dnKey((await userDn(k2))!)]);

        const again = await planAndApply(ad, 'ad', policy, identities);
        assert.deepEqual(again.changes.filter((c) => c.identityKey.endsWith(run)), [], 'right after apply the plan is empty');
      } finally {
        await client.unbind();
        await ad.close();
      }
    });
  });
}
