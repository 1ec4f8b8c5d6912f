import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import type { Change } from '../domain/change.ts';
import type { Connector } from './connector.ts';
import { createConnectorRegistry } from './registry.ts';

const create: Change = { id: 'c1', kind: 'create_account', identityKey: 'E1', system: 'wiki', reason: 'joiner', dependsOn: [] };

test('the registry builds a built-in connector from a policy type name and settings', async () => {
  const registry = createConnectorRegistry();
  for (const type of ['ad', 'chaos', 'fake', 'ldap', 'manual']) assert.ok(registry.types().includes(type), type);
  const wiki = await registry.create({ type: 'fake', settings: { groups: ['staff'] } }, { system: 'wiki' });
  assert.equal(wiki.describe().type, 'fake');
  assert.deepEqual((await wiki.list('entitlements', null)).items.map((e) => e.entitlement), ['staff']);
});

test('chaos wraps the connector its settings name', async () => {
  const registry = createConnectorRegistry();
  const chaos = await registry.create({ type: 'chaos', settings: { seed: 1, crashRate: 1, inner: { type: 'fake' } } }, { system: 'wiki' });
  await assert.rejects(chaos.apply!(create), (e) => isJmlError(e) && e.retryable);
  assert.equal((await chaos.readBack(create)).holds, true, 'the crash happened after the account was created');
});

test('an unknown type or bad settings is invalid input naming the system', async () => {
  const registry = createConnectorRegistry();
  await assert.rejects(registry.create({ type: 'ldapp' }, { system: 'dir' }), (e) => isJmlError(e, 'invalid_input') && /dir.*ldapp.*known: .*chaos, fake, ldap, manual/.test(e.message));
  await assert.rejects(registry.create({ type: 'fake', settings: { latencyMs: -1 } }, { system: 'wiki' }), (e) => isJmlError(e, 'invalid_input') && /latency_ms/.test(e.message));
  await assert.rejects(registry.create({ type: 'ldap', settings: { url: 'http://x' } }, { system: 'dir' }), (e) => isJmlError(e, 'invalid_input') && /dir: ldap connector settings: .*url/.test(e.message));
});

test('a missing setting is named as policy files spell it', async () => {
  const registry = createConnectorRegistry();
  const settings = { url: 'ldaps://ldap.example.org', bind_dn: 'cn=jml,dc=example,dc=org', bindPassword: 'p', baseDn: 'dc=example,dc=org' };
  await assert.rejects(registry.create({ type: 'ldap', settings }, { system: 'dir' }), (e) => isJmlError(e, 'invalid_input') && /users_ou: .*; groups_ou: /.test(e.message) && !/usersOu/.test(e.message));
});

test('other connector types register themselves once', async () => {
  const registry = createConnectorRegistry();
  const readOnly: Connector = { describe: () => ({ type: 'ro', provisions: [], manual: false }), validate: async () => ({ ok: true, problems: [] }), list: async () => ({ items: [], nextCursor: null }), readBack: async () => ({ holds: false }) };
  registry.register('ro', () => readOnly);
  assert.equal(await registry.create({ type: 'ro' }, { system: 'x' }), readOnly);
  assert.throws(() => registry.register('ro', () => readOnly), (e) => isJmlError(e, 'conflict'));
});
