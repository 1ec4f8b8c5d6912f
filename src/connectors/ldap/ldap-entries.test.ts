import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accountProjection, attributeMatches, isEnabled, PPOLICY_LOCKED } from './ldap-entries.ts';
import { toEntry, type SlotValue } from './ldap-response-decoder.ts';
import { parseLdapSettings, type LdapSettingsInput } from './ldap-settings.ts';

const BASE: LdapSettingsInput = {
  system: 'dir', flavour: 'openldap', url: 'ldap://127.0.0.1:389', bindDn: 'cn=admin,dc=example,dc=org', bindPassword: 'x',
  baseDn: 'dc=example,dc=org', usersOu: 'ou=people,dc=example,dc=org', groupsOu: 'ou=groups,dc=example,dc=org',
};

/** Projects an entry given as attribute → values, as the decoder would hand it over. */
function account(input: Partial<LdapSettingsInput>, dn: string, values: Record<string, SlotValue>) {
  const s = parseLdapSettings({ ...BASE, ...input });
  const read = accountProjection(s);
  const slots = read.attributes.map((a) => values[a] ?? null);
  const decoded = { dn, slots, extra: null };
  return { account: read.project(decoded), entryEnabled: isEnabled(s, toEntry(read.attributes)(decoded)) };
}

describe('accountProjection', () => {
  test('an OpenLDAP account: login, correlation and attributes, absent ones null, several values as a list', () => {
    const { account: a } = account({}, 'uid=jd,ou=people,dc=example,dc=org', {
      uid: 'jd', employeeNumber: 'E1', cn: ['Jane Doe', 'J. Doe'], mail: 'jd@example.org',
    });
    assert.deepEqual(a, {
      system: 'dir', accountId: 'uid=jd,ou=people,dc=example,dc=org', name: 'jd', enabled: true,
      attributes: { employeeNumber: 'E1', cn: ['Jane Doe', 'J. Doe'], sn: null, givenName: null, displayName: null, mail: 'jd@example.org', title: null, departmentNumber: null },
    });
  });

  test('enabled follows the disable method, as isEnabled reads a full entry', () => {
    const cases = [
      [{}, 'uid=a,ou=people,dc=example,dc=org', { pwdAccountLockedTime: PPOLICY_LOCKED }, false],
      [{}, 'uid=a,ou=people,dc=example,dc=org', {}, true],
      [{ disable: { method: 'attribute', attribute: 'employeeType', disabledValue: 'disabled' } }, 'uid=a,ou=people,dc=example,dc=org', { employeeType: 'disabled' }, false],
      [{ disable: { method: 'attribute', attribute: 'employeeType', disabledValue: 'disabled' } }, 'uid=a,ou=people,dc=example,dc=org', { employeeType: 'staff' }, true],
      [{ disable: { method: 'ou', disabledOu: 'ou=disabled,dc=example,dc=org' } }, 'uid=a,OU=Disabled,dc=example,dc=org', {}, false],
      [{ disable: { method: 'ou', disabledOu: 'ou=disabled,dc=example,dc=org' } }, 'uid=a,ou=people,dc=example,dc=org', {}, true],
      [{ flavour: 'ad' }, 'CN=a,CN=Users,DC=x', { userAccountControl: '514' }, false],
      [{ flavour: 'ad' }, 'CN=a,CN=Users,DC=x', { userAccountControl: '512' }, true],
    ] as const;
    for (const [settings, dn, values, enabled] of cases) {
      const { account: a, entryEnabled } = account(settings as Partial<LdapSettingsInput>, dn, values);
      assert.equal(a.enabled, enabled, `${JSON.stringify(settings)} ${JSON.stringify(values)}`);
      assert.equal(entryEnabled, enabled, 'the entry path agrees');
    }
  });

  test('an AD account: sAMAccountName is the name, lastLogonTimestamp an instant, bytes read as base64', () => {
    const { account: a } = account({ flavour: 'ad', attributes: ['cn', 'lastLogonTimestamp', 'objectGUID'] }, 'CN=Ada,CN=Users,DC=x', {
      sAMAccountName: 'ada', cn: 'Ada', lastLogonTimestamp: '133000000000000000', objectGUID: Buffer.from([1, 2, 255]),
    });
    assert.equal(a.name, 'ada');
    assert.equal(a.lastLoginAt, '2022-06-18T04:26:40.000Z');
    assert.equal(a.attributes.objectGUID, Buffer.from([1, 2, 255]).toString('base64'));
  });

  test('an account without a login value is named by its DN', () => {
    assert.equal(account({}, 'uid=x,ou=people,dc=example,dc=org', {}).account.name, 'uid=x,ou=people,dc=example,dc=org');
  });
});

describe('attributeMatches', () => {
  const entry = (dn: string, ...employeeNumber: string[]) => ({ dn, employeeNumber });
  const matched = (entries: ReturnType<typeof entry>[], wanted: string[]) =>
    Object.fromEntries([...attributeMatches(entries, wanted, (e) => (e as ReturnType<typeof entry>).employeeNumber)].map(([value, found]) => [value, found.map((e) => e.dn)]));

  test('each wanted value gets the entries holding it, ignoring case and spacing as a case-insensitive match does, and none when none came back', () => {
    assert.deepEqual(matched([entry('uid=a', 'E1'), entry('uid=b', 'e2 '), entry('uid=c', 'E1')], ['E1', 'E2', 'E3']), { E1: ['uid=a', 'uid=c'], E2: ['uid=b'], E3: [] });
  });

  test('values that differ only in case are left to be looked up alone: a case-sensitive rule would match only one of them', () => {
    assert.deepEqual(matched([entry('uid=a', 'E1')], ['E1', 'e1', 'E2']), { E2: [] });
  });

  test('an entry no wanted value explains leaves every value to be looked up alone: the server matched by a rule of its own', () => {
    assert.deepEqual(matched([entry('uid=a', 'E1'), entry('uid=b', '+44 20')], ['E1', '+442 0']), {});
  });
});
