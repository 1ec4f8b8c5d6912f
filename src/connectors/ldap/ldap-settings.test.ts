import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { parseLdapSettings } from './ldap-settings.ts';

const base = { system: 'dir', url: 'ldaps://ldap.example.org:636', bindDn: 'cn=jml,dc=example,dc=org', bindPassword: 'hunter2-secret', baseDn: 'dc=example,dc=org', usersOu: 'ou=people,dc=example,dc=org', groupsOu: 'ou=groups,dc=example,dc=org' };

describe('parseLdapSettings', () => {
  test('each flavour gets its own naming defaults', () => {
    const ol = parseLdapSettings({ ...base, flavour: 'openldap' });
    assert.deepEqual([ol.rdnAttribute, ol.loginAttribute, ol.groupObjectClass, ol.disable.method], ['uid', 'uid', 'groupOfNames', 'ppolicy']);
    const ad = parseLdapSettings({ ...base, flavour: 'ad' });
    assert.deepEqual([ad.rdnAttribute, ad.loginAttribute, ad.groupObjectClass, ad.upnSuffix], ['cn', 'sAMAccountName', 'group', 'example.org']);
  });

  test('the bind password never shows when settings are printed', () => {
    const s = parseLdapSettings({ ...base, flavour: 'openldap' });
    assert.doesNotMatch(inspect(s, { depth: 5 }), /hunter2/);
    assert.doesNotMatch(JSON.stringify(s), /hunter2/);
    assert.equal(s.bindPassword.reveal(), 'hunter2-secret');
  });

  test('attribute names that could smuggle filter syntax are rejected', () => {
    assert.throws(() => parseLdapSettings({ ...base, flavour: 'openldap', correlationAttribute: 'uid=*)(cn' }));
    assert.throws(() => parseLdapSettings({ ...base, flavour: 'openldap', url: 'http://ldap.example.org' }));
    assert.throws(() => parseLdapSettings({ ...base, flavour: 'openldap', pageSize: 5000 }), 'AD stops at 1,000 per page');
  });

  test('the disable method may be written in snake_case, as policy files spell settings', () => {
    const byOu = parseLdapSettings({ ...base, flavour: 'openldap', disable: { method: 'ou', disabled_ou: 'ou=disabled,dc=example,dc=org' } });
    assert.deepEqual(byOu.disable, { method: 'ou', disabledOu: 'ou=disabled,dc=example,dc=org' });
    const byAttribute = parseLdapSettings({ ...base, flavour: 'openldap', disable: { method: 'attribute', attribute: 'employeeType', disabled_value: 'disabled', enabled_value: 'active' } });
    assert.deepEqual(byAttribute.disable, { method: 'attribute', attribute: 'employeeType', disabledValue: 'disabled', enabledValue: 'active' });
  });

  test('plain ldap:// without StartTLS is refused as a setting unless plain text is allowed', () => {
    const plain = { ...base, flavour: 'openldap', url: 'ldap://ldap.example.org:389', startTls: false };
    assert.throws(() => parseLdapSettings(plain), (e: Error) => /allowPlaintext/.test(JSON.stringify(e)) && /StartTLS/.test(e.message));
    assert.equal(parseLdapSettings({ ...plain, allowPlaintext: true }).allowPlaintext, true);
    assert.equal(parseLdapSettings({ ...plain, url: 'ldaps://ldap.example.org:636' }).startTls, false, 'ldaps:// needs no StartTLS');
  });
});
