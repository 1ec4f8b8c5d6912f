import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SystemDef } from '../domain/policy.ts';
import { connectorSettingsProblems } from './connector-settings-check.ts';

function system(type: string, settings: Record<string, unknown>): SystemDef {
  return {
    name: 'directory', connector: { type, settings }, owner: 'E1', criticality: 'medium', enforcement: 'relative',
    leaver: { action: 'disable', deleteAfterDays: 90 }, orphans: { disableAfterDays: 7 }, correlation: { account: 'employeeNumber', identity: 'key' },
    account: { name: null, attributes: {} }, identityProvider: false, sessions: false, credentials: { onDisable: 'keep', onEnable: 'keep' },
  };
}

const ldap = { url: 'ldaps://ldap.example.com', bind_dn: 'cn=jml,dc=example,dc=com', base_dn: 'dc=example,dc=com', users_ou: 'ou=people,dc=example,dc=com', groups_ou: 'ou=groups,dc=example,dc=com' };

test('complete connector settings have no problems, with the secret from the store or an environment variable', () => {
  assert.deepEqual(connectorSettingsProblems(system('ldap', ldap)), []);
  assert.deepEqual(connectorSettingsProblems(system('ad', { ...ldap, bind_password_env: 'AD_PASSWORD' })), []);
  assert.deepEqual(connectorSettingsProblems(system('scim', { base_url: 'https://wiki.example.com/scim/v2', token_env: 'WIKI_TOKEN' })), []);
  assert.deepEqual(connectorSettingsProblems(system('manual', { sla_hours: 48, require_confirmation: true })), []);
  assert.deepEqual(connectorSettingsProblems(system('simulated', {})), []);
});

test('a missing or malformed setting is named as policy files spell it, for the system it belongs to', () => {
  const { users_ou: _u, groups_ou: _g, ...partial } = ldap;
  assert.deepEqual(connectorSettingsProblems(system('ldap', partial)).map((p) => p.split(': ').slice(0, 3).join(': ')), [
    'system directory: ldap connector settings: users_ou',
    'system directory: ldap connector settings: groups_ou',
  ]);
  assert.match(connectorSettingsProblems(system('scim', { base_url: 'not a url' })).join('\n'), /^system directory: scim connector settings: base_url: /);
  assert.match(connectorSettingsProblems(system('manual', { sla_hours: -1 })).join('\n'), /manual connector settings: sla_hours: /);
  assert.match(connectorSettingsProblems(system('ldap', { ...ldap, disable: { method: 'ou' } })).join('\n'), /disable\.disabled_ou: /);
});

test('a secret written into policy is a problem; a CA file is read only where the system is opened', () => {
  assert.match(connectorSettingsProblems(system('ldap', { ...ldap, bind_password: 'hunter2' })).join('\n'), /a bind_password does not belong in policy files; store it with: jml secret set directory bind_password/);
  assert.doesNotMatch(connectorSettingsProblems(system('ldap', { ...ldap, bind_password: 'hunter2' })).join('\n'), /hunter2/);
  assert.deepEqual(connectorSettingsProblems(system('ldap', { ...ldap, ca_file: '/only/on/the/server/ca.pem' })), []);
});

test('connector types without settings to check (fake, chaos, or registered elsewhere) have no problems', () => {
  assert.deepEqual(connectorSettingsProblems(system('fake', { anything: 1 })), []);
  assert.deepEqual(connectorSettingsProblems(system('custom-crm', { anything: 1 })), []);
});
