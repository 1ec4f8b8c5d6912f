import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { JmlError } from '../domain/errors.ts';
import { testConnection } from './connection-test.ts';
import { summariseConnectionTest } from './system-test.ts';

test('a reachable system passes: one page of accounts is read, with whether more exist and the first names', async () => {
  const fake = createFakeConnector({}, { system: 'wiki' });
  for (const key of ['E1', 'E2', 'E3']) addAccount(fake.state, key, { user_name: key.toLowerCase() });
  const result = summariseConnectionTest(await testConnection(fake, 'wiki', { pageSize: 2 }), 12.4);
  assert.deepEqual(result, { system: 'wiki', ok: true, problems: [], accountsRead: 2, more: true, sample: ['e1', 'e2'], elapsedMs: 12 });
  assert.equal(fake.calls.apply ?? 0, 0, 'nothing is changed');
});

test('an unreachable system fails with what validate reported, and no page is read', async () => {
  const fake = createFakeConnector({ unreachable: true }, { system: 'wiki' });
  const result = summariseConnectionTest(await testConnection(fake, 'wiki'), 0);
  assert.equal(result.ok, false);
  assert.ok(result.problems.length > 0);
  assert.equal(result.accountsRead, null);
  assert.deepEqual([fake.calls.validate, fake.calls.list ?? 0], [1, 0]);
});

test('a system that validates but refuses the read is reported as failed, with the reason the test classified', async () => {
  const fake = createFakeConnector({}, { system: 'wiki' });
  const refused = new JmlError('unavailable', '401 Unauthorized', { details: { status: 401 } });
  const broken = { ...fake, describe: fake.describe, validate: fake.validate, readBack: fake.readBack, list: async () => { throw refused; } };
  const result = summariseConnectionTest(await testConnection(broken, 'wiki'), 0);
  assert.deepEqual([result.ok, result.problems], [false, ['credentials: 401 Unauthorized']]);
});
