import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JmlError, isJmlError } from './errors.ts';

test('a JmlError keeps its code, retryable flag and cause', () => {
  const cause = new Error('socket hang up');
  const error = new JmlError('connector', 'ldap timed out', { cause, retryable: true, details: { system: 'ldap' } });
  assert.equal(error.code, 'connector');
  assert.equal(error.retryable, true);
  assert.equal(error.cause, cause);
  assert.ok(isJmlError(error, 'connector'));
  assert.ok(!isJmlError(error, 'held'));
  assert.ok(!isJmlError(new Error('x')));
});
