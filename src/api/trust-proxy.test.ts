import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { parseTrustProxy } from './trust-proxy.ts';

test('a hop count is taken as the number of proxies in front', () => {
  assert.equal(parseTrustProxy('1'), 1);
  assert.equal(parseTrustProxy(' 2 '), 2);
});

test('a comma-separated list of addresses and CIDR ranges is an allow-list of proxies', () => {
  assert.deepEqual(parseTrustProxy('10.0.0.5, 10.1.0.0/16,::1,fd00::/8'), ['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8']);
});

test('trusting every proxy ("true") is refused with a message that says what to give instead', () => {
  for (const value of ['true', 'yes', '', '0', '10.0.0.0/33', '10.0.0.1,proxy.example']) {
    assert.throws(() => parseTrustProxy(value), (e) => isJmlError(e, 'invalid_input') && /hop count/.test(e.message), value);
  }
});
