/**
 * The LDAP connector against a real OpenLDAP slapd started by the test
 * harness (test/peers/openldap.ts): provisioning, read-back, paging, TLS,
 * error classes, and injection payloads that must stay literal.
 */
import { after, before, describe, test } from 'node:test';
import { describeConformance } from '../../src/connectors/conformance/conformance-suite.ts';
import assert from 'node:assert/strict';
import { Client, EqualityFilter, InvalidCredentialsError } from 'ldapts';
import type { Change } from '../../src/domain/change.ts';
import type { Account, Grant } from '../../src/domain/access.ts';
import { createLdapConnector, type LdapConnector } from '../../src/connectors/ldap/index.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { freePort } from '../peers/peer-process.ts';
import { changeLines, departmentPolicy, employee, planAndApply } from '../support/department-groups.ts';

const skip = openLdapSkipReason();

let seq = 0;
function change(kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change {
  seq++;
  return { id: `c${seq}`, kind, identityKey, system: 'corp-ldap', reason: 'test', dependsOn: [], ...extra };
}

async function listAll<K extends 'accounts' | 'grants' | 'entitlements'>(c: LdapConnector, kind: K, pageSize?: number) {
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: readonly unknown[]; nextCursor: string | null } = await c.list(kind, cursor, pageSize);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items as (K extends 'accounts' ? Account : K extends 'grants' ? Grant : { entitlement: string })[];
}

async function canBind(url: string, caPem: string, dn: string, password: string): Promise<true | number> {
  const client = new Client({ url, tlsOptions: { ca: [caPem] } });
  try {
    await client.bind(dn, password);
    return true;
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return error.code;
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

describe('LDAP connector on OpenLDAP', { skip }, () => {
  let peer: OpenLdapPeer;
  let ldap: LdapConnector;
  const settings = () => ({
    system: 'corp-ldap', flavour: 'openldap', url: peer.url, caPem: peer.caPem,
    bindDn: peer.bindDn, bindPassword: peer.password, baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
  });

  before(async () => {
    peer = await startOpenLdap();
    ldap = createLdapConnector(settings());
    const admin = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
    await admin.bind(peer.bindDn, peer.password);
    for (const cn of ['developers', 'vpn', 'solo']) {
      await admin.add(`cn=${cn},${peer.groupsOu}`, { objectClass: 'groupOfNames', cn, member: `cn=jml-empty-group-placeholder,${peer.baseDn}` });
    }
    await admin.unbind();
  });
  after(async () => {
    await ldap?.close();
    await peer?.stop();
  });

  test('validate passes with good settings and names the problem with a wrong password', async () => {
    assert.deepEqual(await ldap.validate(), { ok: true, problems: [] });
    const wrong = createLdapConnector({ ...settings(), bindPassword: 'nope' });
    const result = await wrong.validate();
    await wrong.close();
    assert.equal(result.ok, false);
    assert.match(result.problems.join(), /invalid credentials \(49\)/);
  });

  test('creating an account is idempotent and reads back with its attributes', async () => {
    const create = change('create_account', 'E100', { attributes: { uid: 'ada', cn: 'Ada Lovelace', sn: 'Lovelace', mail: 'ada@example.org', password: 'Secret-1234' } });
    assert.deepEqual(await ldap.readBack(create), { holds: false, detail: 'no account yet' });
    const first = await ldap.apply(create);
    assert.deepEqual(first, { status: 'done', accountId: `uid=ada,${peer.usersOu}` });
    const again = await ldap.apply(create);
    assert.equal(again.status, 'done');
    assert.equal((again as { accountId?: string }).accountId, `uid=ada,${peer.usersOu}`);
    assert.deepEqual(await ldap.readBack(create), { holds: true, accountId: `uid=ada,${peer.usersOu}` });
    const ada = (await listAll(ldap, 'accounts')).filter((a) => a.name === 'ada');
    assert.equal(ada.length, 1);
    assert.equal(ada[0]!.enabled, true);
    assert.equal(ada[0]!.attributes.employeeNumber, 'E100');
    assert.equal(ada[0]!.attributes.mail, 'ada@example.org');
    assert.equal(await canBind(peer.ldapsUrl, peer.caPem, `uid=ada,${peer.usersOu}`, 'Secret-1234'), true);
  });

  test('a disabled account cannot bind (49) until it is enabled again', async () => {
    const dn = `uid=ada,${peer.usersOu}`;
    const disable = change('disable_account', 'E100', { accountId: dn });
    assert.deepEqual(await ldap.apply(disable), { status: 'done', accountId: dn });
    assert.equal((await ldap.readBack(disable)).holds, true);
    assert.equal(await canBind(peer.ldapsUrl, peer.caPem, dn, 'Secret-1234'), 49);
    assert.equal((await listAll(ldap, 'accounts')).find((a) => a.name === 'ada')?.enabled, false);
    const enable = change('enable_account', 'E100', { accountId: dn });
    assert.equal((await ldap.readBack(enable)).holds, false);
    await ldap.apply(enable);
    assert.equal((await ldap.readBack(enable)).holds, true);
    assert.equal(await canBind(peer.ldapsUrl, peer.caPem, dn, 'Secret-1234'), true);
  });

  test('grants are added, listed and removed, and removing the last member leaves a valid group', async () => {
    await ldap.apply(change('create_account', 'E101', { attributes: { uid: 'grace', cn: 'Grace Hopper', sn: 'Hopper' } }));
    for (const [who, group] of [['E100', 'developers'], ['E101', 'developers'], ['E100', 'solo']] as const) {
      const add = change('add_grant', who, { entitlement: group });
      assert.equal((await ldap.readBack(add)).holds, false);
      assert.equal((await ldap.apply(add)).status, 'done');
      assert.equal((await ldap.apply(add)).status, 'done', 'adding twice is harmless');
      assert.equal((await ldap.readBack(add)).holds, true);
    }
    const grants = await listAll(ldap, 'grants');
    assert.deepEqual(
      grants.map((g) => `${g.entitlement}:${g.accountId}`).sort(),
      [`developers:uid=ada,${peer.usersOu}`, `developers:uid=grace,${peer.usersOu}`, `solo:uid=ada,${peer.usersOu}`],
      'placeholder members are not grants',
    );
    const entitlements = await listAll(ldap, 'entitlements');
    assert.deepEqual(entitlements.map((e) => e.entitlement).sort(), ['developers', 'solo', 'vpn']);

    const removeLast = change('remove_grant', 'E100', { entitlement: 'solo' });
    assert.deepEqual(await ldap.apply(removeLast), { status: 'done', accountId: `uid=ada,${peer.usersOu}` });
    assert.equal((await ldap.readBack(removeLast)).holds, true);
    assert.equal((await ldap.apply(removeLast)).status, 'done', 'removing twice is harmless');
    assert.ok(!(await listAll(ldap, 'grants')).some((g) => g.entitlement === 'solo'));
    const back = change('add_grant', 'E100', { entitlement: 'solo' });
    await ldap.apply(back);
    assert.equal((await ldap.readBack(back)).holds, true);
  });

  test('a rename changes the DN and keeps every group membership', async () => {
    const rename = change('update_attributes', 'E100', { accountId: `uid=ada,${peer.usersOu}`, attributes: { uid: 'ada.king', cn: 'Ada King', sn: 'King' } });
    assert.equal((await ldap.readBack(rename)).holds, false);
    const outcome = await ldap.apply(rename);
    assert.deepEqual(outcome, { status: 'done', accountId: `uid=ada.king,${peer.usersOu}` });
    assert.deepEqual(await ldap.readBack(rename), { holds: true, accountId: `uid=ada.king,${peer.usersOu}` });
    const grants = (await listAll(ldap, 'grants')).filter((g) => g.accountId.includes('ada'));
    assert.deepEqual(grants.map((g) => `${g.entitlement}:${g.accountId}`).sort(), [
      `developers:uid=ada.king,${peer.usersOu}`, `solo:uid=ada.king,${peer.usersOu}`,
    ]);
    assert.equal(await canBind(peer.ldapsUrl, peer.caPem, `uid=ada.king,${peer.usersOu}`, 'Secret-1234'), true);
  });

  test('attributes set to null are removed and others replaced', async () => {
    const update = change('update_attributes', 'E101', { attributes: { mail: 'grace@example.org', title: 'Rear Admiral' } });
    await ldap.apply(update);
    assert.equal((await ldap.readBack(update)).holds, true);
    const clear = change('update_attributes', 'E101', { attributes: { title: null } });
    assert.equal((await ldap.readBack(clear)).holds, false);
    await ldap.apply(clear);
    assert.equal((await ldap.readBack(clear)).holds, true);
  });

  test('deleting an account also takes it out of its groups, and is idempotent', async () => {
    const del = change('delete_account', 'E101');
    assert.equal((await ldap.readBack(del)).holds, false);
    assert.equal((await ldap.apply(del)).status, 'done');
    assert.deepEqual(await ldap.apply(del), { status: 'done', detail: 'already absent' });
    assert.deepEqual(await ldap.readBack(del), { holds: true });
    assert.ok(!(await listAll(ldap, 'grants')).some((g) => g.accountId.includes('grace')));
  });

  test('paging returns every account exactly once, also when the cursor outlives its connector', async () => {
    for (let i = 0; i < 7; i++) await ldap.apply(change('create_account', `P${i}`, { attributes: { uid: `pager${i}` } }));
    const all = await listAll(ldap, 'accounts');
    const paged = await listAll(ldap, 'accounts', 2);
    assert.deepEqual(paged.map((a) => a.accountId).sort(), all.map((a) => a.accountId).sort());
    assert.equal(new Set(paged.map((a) => a.accountId)).size, paged.length);

    const firstPage = await ldap.list('accounts', null, 3);
    const other = createLdapConnector(settings());
    const rest: Account[] = [...firstPage.items];
    let cursor = firstPage.nextCursor;
    while (cursor) {
      const page = await other.list('accounts', cursor, 3);
      rest.push(...page.items);
      cursor = page.nextCursor;
    }
    await other.close();
    assert.deepEqual(rest.map((a) => a.accountId).sort(), all.map((a) => a.accountId).sort());
  });

  test('injection payloads stay literal values', async () => {
    const before = (await listAll(ldap, 'accounts')).map((a) => a.accountId).sort();
    const payload = '*)(uid=*))(|(uid=*';
    assert.deepEqual(await ldap.readBack(change('create_account', payload)), { holds: false, detail: 'no account yet' });
    const stray = await ldap.apply(change('disable_account', payload));
    assert.equal(stray.status, 'failed');
    assert.equal((stray as { retryable: boolean }).retryable, false);
    assert.equal((await ldap.readBack(change('add_grant', '*', { entitlement: '*' })).catch((e: Error) => e.message)), 'corp-ldap: no group named "*" under ' + peer.groupsOu);
    assert.ok((await listAll(ldap, 'accounts')).every((a) => a.enabled || a.name === 'nobody'), 'no account was disabled');

    const sneaky = await ldap.apply(change('create_account', 'E200', { attributes: { uid: 'x,ou=admins' } }));
    assert.deepEqual(sneaky, { status: 'done', accountId: `uid=x\\,ou\\=admins,${peer.usersOu}` });
    const after = await listAll(ldap, 'accounts');
    const created = after.find((a) => a.attributes.employeeNumber === 'E200');
    assert.equal(created?.name, 'x,ou=admins');
    assert.match(created!.accountId.toLowerCase(), new RegExp(`,${peer.usersOu}$`));
    assert.deepEqual(after.map((a) => a.accountId).filter((id) => !before.includes(id)), [created!.accountId]);

    for (const name of ['#hash', ' lead', 'trail ', 'a+b', 'q"uote', 'back\\slash', '<x>;y', 'Zoë Ørsted']) {
      const made = await ldap.apply(change('create_account', `N-${name}`, { attributes: { uid: name, cn: name } }));
      assert.equal(made.status, 'done', `${name}: ${JSON.stringify(made)}`);
      const found = (await listAll(ldap, 'accounts')).find((a) => a.attributes.employeeNumber === `N-${name}`);
      assert.equal(found?.name, name);
      const rb = await ldap.readBack(change('create_account', `N-${name}`));
      assert.equal(rb.holds, true);
      const renamed = await ldap.apply(change('update_attributes', `N-${name}`, { attributes: { uid: `${name}2` } }));
      assert.equal(renamed.status, 'done', `${name}: ${JSON.stringify(renamed)}`);
    }

    const nul = await ldap.apply(change('create_account', 'E201', { attributes: { uid: 'nul\0byte' } }));
    if (nul.status === 'failed') {
      assert.equal(nul.retryable, false);
      assert.match(nul.message, /invalid|syntax|value/i);
    } else {
      const found = (await listAll(ldap, 'accounts')).find((a) => a.attributes.employeeNumber === 'E201');
      assert.equal(found?.name, 'nul\0byte');
    }
    const finalIds = (await listAll(ldap, 'accounts')).map((a) => a.accountId);
    assert.ok(finalIds.every((id) => id.toLowerCase().endsWith(peer.usersOu)), 'nothing was created outside the users OU');
  });

  test('LDAPS with the configured CA works; without it TLS fails as a terminal error', async () => {
    const overLdaps = createLdapConnector({ ...settings(), url: peer.ldapsUrl });
    assert.ok((await overLdaps.list('accounts', null)).items.length > 0);
    await overLdaps.close();
    const untrusted = createLdapConnector({ ...settings(), url: peer.ldapsUrl, caPem: undefined });
    await assert.rejects(untrusted.list('accounts', null), (e: Error & { retryable?: boolean }) => e.retryable === false && /certificate|TLS/i.test(e.message));
    await untrusted.close();
  });

  test('an unreachable server is a retryable failure', async () => {
    const port = await freePort();
    const down = createLdapConnector({ ...settings(), url: `ldap://127.0.0.1:${port}` });
    const outcome = await down.apply(change('disable_account', 'E100'));
    assert.equal(outcome.status, 'failed');
    assert.equal((outcome as { retryable: boolean }).retryable, true);
    await assert.rejects(down.list('accounts', null), (e: Error & { retryable?: boolean }) => e.retryable === true);
    await down.close();
  });

  test('an identity in a new department gets the group jml creates, and the directory shows the membership', async () => {
    const policy = departmentPolicy('corp-ldap', 'ldap', { name: null, attributes: { cn: '{first_name} {last_name}', sn: '{last_name}' } }, { account: 'employeeNumber', identity: 'key' });
    const rnd = employee('DG1', 'R&D, Europe');
    const sales = employee('DG2', 'Sales+Ops');
    const nobody = employee('DG3', null);
    const first = await planAndApply(ldap, 'ldap', policy, [rnd, sales, nobody]);
    assert.deepEqual(changeLines(first, 'DG1'), ['create_group dept-r&d, europe', 'create_account', 'add_grant dept-r&d, europe']);
    assert.deepEqual(changeLines(first, 'DG3'), [], 'no department, no group and no account');

    // Read the directory itself, not through jml.
    const admin = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
    await admin.bind(peer.bindDn, peer.password);
    try {
      const group = async (cn: string) =>
        (await admin.search(peer.groupsOu, { filter: new EqualityFilter({ attribute: 'cn', value: cn }), attributes: ['member', 'description', 'objectClass'] })).searchEntries;
      const [rndGroup, ...more] = await group('dept-r&d, europe');
      assert.equal(more.length, 0);
      // The server writes the escaped comma as `\2C`: either way one RDN, not two.
      assert.match(rndGroup?.dn ?? '', new RegExp(`^cn=dept-r&d\\\\(2C|,) europe,${peer.groupsOu}$`, 'i'));
      assert.equal(rndGroup?.description, 'Members of R&D, Europe');
      assert.deepEqual([rndGroup?.member].flat(), [`uid=dana.dg1,${peer.usersOu}`], 'the placeholder gave way to the first member');
      const [salesGroup] = await group('dept-sales+ops');
      assert.match(salesGroup?.dn ?? '', new RegExp(`^cn=dept-sales\\\\(2B|\\+)ops,${peer.groupsOu}$`, 'i'));
      assert.deepEqual([salesGroup?.member].flat(), [`uid=dana.dg2,${peer.usersOu}`]);
      assert.deepEqual(await group('dept-'), [], 'a missing department never names a group');

      const again = await planAndApply(ldap, 'ldap', policy, [rnd, sales, nobody]);
      assert.deepEqual(again.changes.map((c) => c.kind), [], 'right after apply the plan is empty');

      const moved = await planAndApply(ldap, 'ldap', policy, [employee('DG1', 'Sales+Ops'), sales, nobody]);
      assert.deepEqual(changeLines(moved, 'DG1'), ['remove_grant dept-r&d, europe', 'add_grant dept-sales+ops'], 'a mover joins the existing group');
      assert.deepEqual([(await group('dept-sales+ops'))[0]?.member].flat().sort(), [`uid=dana.dg1,${peer.usersOu}`, `uid=dana.dg2,${peer.usersOu}`]);
      assert.deepEqual([(await group('dept-r&d, europe'))[0]?.member].flat(), [`cn=jml-empty-group-placeholder,${peer.baseDn}`]);
    } finally {
      await admin.unbind();
    }
  });
});

describe('LDAP listing over several server pages', { skip }, () => {
  test('every entry comes once across server pages, and a server that goes away mid-listing is a retryable failure', async () => {
    const peer = await startOpenLdap({ preload: { people: 2_500, groups: 3, membersPerGroup: 1_200 } });
    const settings = {
      system: 'big-ldap', flavour: 'openldap', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
      baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
    };
    const ldap = createLdapConnector(settings);
    try {
      const accounts = await listAll(ldap, 'accounts', 700);
      assert.equal(accounts.length, 2_500);
      assert.equal(new Set(accounts.map((a) => a.accountId)).size, 2_500);
      const a7 = accounts.find((a) => a.name === 'user000007');
      assert.deepEqual(a7?.attributes, {
        employeeNumber: 'E000007', cn: 'User 000007', sn: '000007', givenName: 'User', displayName: null, mail: 'user000007@example.org', title: null, departmentNumber: null,
      });
      assert.equal(a7?.enabled, true);
      const grants = await listAll(ldap, 'grants', 1000);
      assert.equal(grants.length, 3 * 1_200, 'big groups arrive in many TLS records and are read whole');

      // Pages already read ahead may still be served; the listing must then fail, never end short.
      const first = await ldap.list('accounts', null, 100);
      await peer.stop();
      let served = first.items.length;
      let cursor = first.nextCursor;
      const failure = await (async () => {
        try {
          while (cursor !== null) {
            const page = await ldap.list('accounts', cursor, 100);
            served += page.items.length;
            cursor = page.nextCursor;
          }
          return null;
        } catch (error) {
          return error as Error & { retryable?: boolean };
        }
      })();
      assert.ok(failure, `the listing ended after ${served} of 2,500 accounts without an error`);
      assert.equal(failure.retryable, true, failure.message);
      assert.ok(served < 2_500);
    } finally {
      await ldap.close();
      await peer.stop().catch(() => undefined);
    }
  });
});

// The conformance suite on one shared slapd: its identity keys are unique per run.
let shared: Promise<OpenLdapPeer> | null = null;
after(async () => {
  if (shared) await (await shared).stop();
});

if (skip) {
  test('connector conformance: ldap (OpenLDAP)', { skip }, () => undefined);
} else {
  describeConformance('ldap (OpenLDAP)', async () => {
    shared ??= startOpenLdap();
    const peer = await shared;
    const settings = {
      system: 'corp-ldap', flavour: 'openldap', url: peer.url, caPem: peer.caPem,
      bindDn: peer.bindDn, bindPassword: peer.password, baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
    };
    const connector = createLdapConnector(settings);
    const others: LdapConnector[] = [];
    return {
      connector,
      system: 'corp-ldap',
      async seedEntitlement(name) {
        const admin = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
        await admin.bind(peer.bindDn, peer.password);
        await admin
          .add(`cn=${name},${peer.groupsOu}`, { objectClass: 'groupOfNames', cn: name, member: `cn=jml-empty-group-placeholder,${peer.baseDn}` })
          .catch((e: { code?: number }) => { if (e.code !== 68) throw e; });
        await admin.unbind();
        return name;
      },
      accountAttributes: (key) => ({ uid: key, cn: `Person ${key}`, sn: key }),
      attributeUpdate: { title: 'Conformance tester' },
      async unreachable() {
        const down = createLdapConnector({ ...settings, url: `ldap://127.0.0.1:${await freePort()}` });
        others.push(down);
        return down;
      },
      async close() {
        await connector.close();
        for (const o of others) await o.close();
      },
    };
  });
}
