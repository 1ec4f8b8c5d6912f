import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connector } from '../connectors/connector.ts';
import { JmlError } from '../domain/errors.ts';
import { connectionFailureOf, testConnection } from './connection-test.ts';

test('failures are classified by what the person setting the system up must fix', () => {
  const connector = (details: Record<string, unknown>, code: 'connector' | 'invalid_input' | 'not_found' = 'connector') => connectionFailureOf(new JmlError(code, 'x', { details }));
  assert.equal(connector({ unreachable: true }), 'unreachable');
  assert.equal(connector({ resultCode: 49 }), 'credentials');
  assert.equal(connector({ resultCode: 8 }), 'tls', 'AD: strong authentication required on a plain bind');
  assert.equal(connector({ resultCode: 32 }), 'not_found');
  assert.equal(connector({ tls: true }), 'tls');
  assert.equal(connector({ status: 401 }), 'credentials');
  assert.equal(connector({ status: 404 }), 'not_found');
  assert.equal(connector({ status: 500 }), 'error');
  assert.equal(connector({}, 'invalid_input'), 'settings');
  assert.equal(connector({}, 'not_found'), 'credentials', 'no secret stored');
  assert.equal(connectionFailureOf(new Error('boom')), 'error');
});

test('a connector whose settings check fails reports the missing DN as not found, and reads no page', async () => {
  let listed = 0;
  const connector: Connector = {
    describe: () => ({ type: 'ldap', provisions: [], manual: false }),
    validate: async () => ({ ok: false, problems: ['ou=staff,dc=example,dc=org does not exist'] }),
    list: async () => { listed += 1; return { items: [], nextCursor: null }; },
    readBack: async () => ({ holds: false }),
  };
  const report = await testConnection(connector, 'directory');
  assert.deepEqual([report.ok, report.failure?.reason, report.failure?.message, listed], [false, 'not_found', 'ou=staff,dc=example,dc=org does not exist', 0]);
});
