/**
 * Passwords on disable and re-enable, against real servers: a disabled
 * account's password is scrambled, and a re-enabled account gets a new one
 * that must be changed at first sign-in — so a rehire never binds with the
 * password they had before leaving. Checked with real binds (ldapts), not
 * with the connector's own read-back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change as LdapChange, Client, InvalidCredentialsError } from 'ldapts';
import type { Change } from '../../src/domain/change.ts';
import { createLdapConnector, type LdapConnector } from '../../src/connectors/ldap/index.ts';
import { Secret } from '../../src/connectors/secrets/index.ts';
import { openLdapConnectorFor } from '../support/peer-systems.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';

let seq = 0;
function change(system: string, kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change {
  return { id: `cred${++seq}`, kind, identityKey, system, reason: 'test', dependsOn: [], ...extra };
}

/** true when the bind succeeds, else the LDAP result code and AD's `data` sub-code when there is one. */
async function bindAs(url: string, caPem: string, dn: string, password: string): Promise<true | string> {
  const client = new Client({ url, tlsOptions: { ca: [caPem] } });
  try {
    await client.bind(dn, password);
    return true;
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return `49${/data ([0-9a-f]+)/i.exec(error.message)?.[1] ? ` data ${/data ([0-9a-f]+)/i.exec(error.message)![1]}` : ''}`;
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

describe('passwords on disable and re-enable, on OpenLDAP', { skip: openLdapSkipReason() }, () => {
  const SYSTEM = 'corp-ldap';
  let peer: OpenLdapPeer;
  let ldap: LdapConnector;
  const at = (kind: Change['kind'], key: string, extra: Partial<Change> = {}) => change(SYSTEM, kind, key, extra);

  before(async () => {
    peer = await startOpenLdap();
    ldap = openLdapConnectorFor(peer, SYSTEM);
  });
  after(async () => {
    await ldap?.close();
    await peer?.stop();
  });

  async function asAdmin<T>(work: (c: Client) => Promise<T>): Promise<T> {
    const admin = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
    await admin.bind(peer.bindDn, peer.password);
    try {
      return await work(admin);
    } finally {
      await admin.unbind();
    }
  }

  test('a rehire cannot bind with the pre-leaver password, even after an administrator unlocks the account by hand', async () => {
    const dn = `uid=grace,${peer.usersOu}`;
    const before = 'Before-Leaving-2026';
    assert.equal((await ldap.apply(at('create_account', 'E200', { attributes: { uid: 'grace', cn: 'Grace Hopper', sn: 'Hopper', password: before } }))).status, 'done');
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), true);

    const disable = at('disable_account', 'E200', { accountId: dn, credential: 'scramble' });
    assert.deepEqual(await ldap.apply(disable), { status: 'done', accountId: dn });
    assert.equal((await ldap.readBack(disable)).holds, true);
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), '49');
    // The lock alone is not the protection: lifted by hand, the old password still does not bind.
    await asAdmin((c) => c.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) })]));
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), '49');
    await ldap.apply(at('disable_account', 'E200', { accountId: dn, credential: 'scramble' }));

    const issued = new Secret('Issued-Once-7f3a9c');
    const enable = at('enable_account', 'E200', { accountId: dn, credential: 'new_secret' });
    assert.deepEqual(await ldap.apply(enable, { newSecret: issued }), { status: 'done', accountId: dn });
    assert.equal((await ldap.readBack(enable)).holds, true);
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), '49', 'the rehire does not get the old password back');
    const stored = await asAdmin(async (c) => (await c.search(dn, { scope: 'base', attributes: ['userPassword', 'pwdReset'] })).searchEntries[0]!);
    assert.match(String(stored.userPassword), /^\{SSHA\}/, 'the issued password is stored hashed');
    assert.equal(stored.pwdReset, 'TRUE');

    // The issued password binds, but under a policy with pwdMustChange ppolicy allows nothing except changing it.
    await asAdmin(async (c) => {
      await c.add(`cn=must-change,ou=policies,${peer.baseDn}`, { objectClass: ['organizationalRole', 'pwdPolicy'], cn: 'must-change', pwdAttribute: 'userPassword', pwdMustChange: 'TRUE' });
      await c.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'pwdPolicySubentry', values: [`cn=must-change,ou=policies,${peer.baseDn}`] }) })]);
    });
    const person = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
    try {
      await person.bind(dn, issued.reveal());
      await assert.rejects(person.search(peer.usersOu, { scope: 'one', attributes: ['uid'] }), (e: { code?: number }) => e.code === 50 || e.code === 53);
      await person.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: ['Chosen-By-Grace-1'] }) })]);
    } finally {
      await person.unbind().catch(() => undefined);
    }
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Chosen-By-Grace-1'), true);
    const after = await asAdmin(async (c) => (await c.search(dn, { scope: 'base', attributes: ['pwdReset'] })).searchEntries[0]!);
    assert.deepEqual(after.pwdReset, [], 'changing the password lifts the reset flag');
  });

  test('a disable of an account ppolicy had already locked for a while leaves it locked for good, with the password scrambled', async () => {
    const dn = `uid=alan,${peer.usersOu}`;
    await ldap.apply(at('create_account', 'E204', { attributes: { uid: 'alan', cn: 'Alan T', sn: 'T', password: 'Alan-Before-1' } }));
    // A temporary lock (as after failed binds); ppolicy lifts any lock when an administrator sets a password.
    await asAdmin((c) => c.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['20260101000000Z'] }) })]));
    assert.deepEqual(await ldap.apply(at('disable_account', 'E204', { accountId: dn, credential: 'scramble' })), { status: 'done', accountId: dn });
    const entry = await asAdmin(async (c) => (await c.search(dn, { scope: 'base', attributes: ['pwdAccountLockedTime'] })).searchEntries[0]!);
    assert.equal(entry.pwdAccountLockedTime, '000001010000Z');
    await asAdmin((c) => c.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) })]));
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Alan-Before-1'), '49');
  });

  test('a joiner created with a new secret must change it at first sign-in', async () => {
    const dn = `uid=linus,${peer.usersOu}`;
    const issued = new Secret('Joiner-First-Pass-42');
    const create = at('create_account', 'E201', { attributes: { uid: 'linus', cn: 'Linus T', sn: 'T' }, credential: 'new_secret' });
    assert.deepEqual(await ldap.apply(create, { newSecret: issued }), { status: 'done', accountId: dn });
    const stored = await asAdmin(async (c) => (await c.search(dn, { scope: 'base', attributes: ['pwdReset'] })).searchEntries[0]!);
    assert.equal(stored.pwdReset, 'TRUE');
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, issued.reveal()), true);
  });

  test('a change that asks for a new secret but comes without one is refused as terminal and changes nothing', async () => {
    const dn = `uid=grace,${peer.usersOu}`;
    await ldap.apply(at('disable_account', 'E200', { accountId: dn }));
    const outcome = await ldap.apply(at('enable_account', 'E200', { accountId: dn, credential: 'new_secret' }));
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.retryable, false);
    assert.match(outcome.status === 'failed' ? outcome.message : '', /asks for a new password but none was issued/);
    assert.equal((await ldap.readBack(at('enable_account', 'E200', { accountId: dn }))).holds, false, 'still disabled');
  });

  test('where disabling moves the entry to another OU, the password is scrambled before the move and replaced before the move back', async () => {
    const byOu = createLdapConnector({
      system: SYSTEM, flavour: 'openldap', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
      baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu, disable: { method: 'ou', disabledOu: `ou=disabled,${peer.baseDn}` },
    });
    try {
      const dn = `uid=mary,${peer.usersOu}`;
      const away = `uid=mary,ou=disabled,${peer.baseDn}`;
      await byOu.apply(at('create_account', 'E203', { attributes: { uid: 'mary', cn: 'Mary K', sn: 'K', password: 'Mary-Before-1' } }));
      assert.deepEqual(await byOu.apply(at('disable_account', 'E203', { accountId: dn, credential: 'scramble' })), { status: 'done', accountId: away });
      // An administrator moving the entry back by hand does not bring the old password with it.
      await asAdmin((c) => c.modifyDN(away, dn));
      assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Mary-Before-1'), '49');
      await byOu.apply(at('disable_account', 'E203', { accountId: dn, credential: 'scramble' }));
      const issued = new Secret('Mary-Issued-2');
      assert.deepEqual(await byOu.apply(at('enable_account', 'E203', { accountId: away, credential: 'new_secret' }), { newSecret: issued }), { status: 'done', accountId: dn });
      assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Mary-Before-1'), '49');
      assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, issued.reveal()), true);
    } finally {
      await byOu.close();
    }
  });

  test('without a credential on the change, disable and enable leave the password alone (policy "keep")', async () => {
    const dn = `uid=ken,${peer.usersOu}`;
    await ldap.apply(at('create_account', 'E202', { attributes: { uid: 'ken', cn: 'Ken T', sn: 'T', password: 'Kept-Password-9' } }));
    await ldap.apply(at('disable_account', 'E202', { accountId: dn }));
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Kept-Password-9'), '49');
    await ldap.apply(at('enable_account', 'E202', { accountId: dn }));
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, 'Kept-Password-9'), true);
  });
});

describe('passwords on disable and re-enable, on Samba AD', { skip: sambaAdSkipReason() }, () => {
  const SYSTEM = 'corp-ad';
  let peer: SambaAdPeer;
  let ad: LdapConnector;
  const at = (kind: Change['kind'], key: string, extra: Partial<Change> = {}) => change(SYSTEM, kind, key, extra);

  before(async () => {
    peer = await startSambaAd();
    ad = createLdapConnector({
      system: SYSTEM, flavour: 'ad', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
      baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
    });
  });
  after(async () => {
    await ad?.close();
    await peer?.stop();
  });

  test('a rehire cannot bind with the pre-leaver password; the issued one must be changed first (data 773)', async () => {
    const before = 'Before-Leaving-2026!';
    const made = await ad.apply(at('create_account', 'AD200', { attributes: { cn: 'Grace Hopper', sAMAccountName: 'ghopper', sn: 'Hopper', password: before } }));
    assert.equal(made.status, 'done');
    const dn = made.status === 'done' ? made.accountId! : '';
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), true);

    const disable = at('disable_account', 'AD200', { accountId: dn, credential: 'scramble' });
    assert.equal((await ad.apply(disable)).status, 'done');
    assert.equal((await ad.readBack(disable)).holds, true);
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), '49 data 533');
    // Samba (like Windows over NTLM) accepts the immediately previous password for an hour after a reset
    // ("old password allowed period"): the scramble makes the pre-leaver password two back once a new one is issued.

    const issued = new Secret('Issued-Once-Ad-7f3a9c!');
    const enable = at('enable_account', 'AD200', { accountId: dn, credential: 'new_secret' });
    assert.equal((await ad.apply(enable, { newSecret: issued })).status, 'done');
    assert.equal((await ad.readBack(enable)).holds, true);
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, before), '49 data 52e', 'the rehire does not get the old password back');
    assert.equal(await bindAs(peer.ldapsUrl, peer.caPem, dn, issued.reveal()), '49 data 773', 'the issued password is right but must be changed first');
  });
});
