import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../../domain/change.ts';
import { describeConformance } from '../conformance/conformance-suite.ts';
import { createFakeConnector } from './fake-connector.ts';
import { addAccount } from './fake-system.ts';

describeConformance('fake', async () => {
  const connector = createFakeConnector({}, { system: 'fake' });
  return {
    connector,
    system: 'fake',
    seedEntitlement: async (name) => {
      connector.state.groups.set(name, { displayName: name });
      return name;
    },
    accountAttributes: (identityKey) => ({ user_name: identityKey.toLowerCase(), display_name: `Person ${identityKey}` }),
    attributeUpdate: { title: 'Staff Engineer' },
    unreachable: async () => createFakeConnector({ unreachable: true }, { system: 'fake' }),
  };
});

const create = (identityKey: string): Change => ({ id: `c-${identityKey}`, kind: 'create_account', identityKey, system: 'hr', reason: 'joiner', dependsOn: [] });

test('the fake counts calls per method and effects per kind, so duplicate creates are visible', async () => {
  const fake = createFakeConnector({}, { system: 'hr' });
  await fake.apply(create('E1'));
  await fake.apply(create('E1'));
  await fake.readBack(create('E1'));
  assert.equal(fake.calls['apply:create_account'], 2);
  assert.equal(fake.calls.readBack, 1);
  assert.equal(fake.state.effects.create_account, 1);
  assert.equal(fake.state.accounts.size, 1);
});

test('the fake waits its configured latency through the injected sleep', async () => {
  const slept: number[] = [];
  const fake = createFakeConnector({ latencyMs: 40 }, { system: 'hr', sleep: async (ms) => void slept.push(ms) });
  await fake.validate();
  await fake.list('accounts', null);
  assert.deepEqual(slept, [40, 40]);
});

test('revoking sessions and credentials of a seeded account reads back', async () => {
  const fake = createFakeConnector({}, { system: 'hr' });
  const account = addAccount(fake.state, 'E7');
  fake.state.sessions.set(account.accountId, 3);
  fake.state.credentials.set('k1', { credentialId: 'k1', accountId: account.accountId, status: 'active', rotations: [] });
  const base = { identityKey: 'E7', system: 'hr', reason: 'leaver', dependsOn: [] };
  const sessions: Change = { ...base, id: 's', kind: 'revoke_sessions' };
  const rotate: Change = { ...base, id: 'r', kind: 'rotate_credential', credentialId: 'k1' };
  const revoke: Change = { ...base, id: 'v', kind: 'revoke_credential', credentialId: 'k1' };
  for (const change of [sessions, rotate, revoke]) {
    assert.equal((await fake.readBack(change)).holds, false);
    assert.equal((await fake.apply(change)).status, 'done');
    assert.equal((await fake.readBack(change)).holds, true);
  }
  assert.equal(fake.state.credentials.get('k1')?.status, 'revoked');
});
