import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { testSystemConnection } from './system-test.ts';

test('a reachable system passes: one page of accounts is read, with whether more exist and the first names', async () => {
  const fake = createFakeConnector({}, { system: 'wiki' });
  for (const key of ['E1', 'E2', 'E3']) addAccount(fake.state, key, { user_name: key.toLowerCase() });
  const result = await testSystemConnection('wiki', fake, 2);
  assert.deepEqual({ ok: result.ok, problems: result.problems, accountsRead: result.accountsRead, more: result.more, sample: result.sample }, { ok: true, problems: [], accountsRead: 2, more: true, sample: ['e1', 'e2'] });
  assert.equal(fake.calls.apply ?? 0, 0, 'nothing is changed');
});

test('an unreachable system fails with what validate reported, and no page is read', async () => {
  const fake = createFakeConnector({ unreachable: true }, { system: 'wiki' });
  const result = await testSystemConnection('wiki', fake);
  assert.equal(result.ok, false);
  assert.ok(result.problems.length > 0);
  assert.equal(result.accountsRead, null);
  assert.deepEqual([fake.calls.validate, fake.calls.list ?? 0], [1, 0]);
});

test('a system that validates but fails to list is reported as failed, naming the read', async () => {
  const fake = createFakeConnector({}, { system: 'wiki' });
  const broken = { ...fake, describe: fake.describe, validate: fake.validate, readBack: fake.readBack, list: async () => { throw new Error('401 Unauthorized'); } };
  const result = await testSystemConnection('wiki', broken);
  assert.deepEqual([result.ok, result.problems], [false, ['reading one page of accounts failed: 401 Unauthorized']]);
});
