import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyError, ConstraintViolationError, InvalidCredentialsError, NoSuchObjectError, UnavailableError } from 'ldapts';
import { ldapError, failedOutcome } from './ldap-errors.ts';

describe('ldapError', () => {
  test('busy and unavailable servers and broken connections are retryable', () => {
    for (const error of [new BusyError('busy'), new UnavailableError('down'), Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), new Error('Connection timeout')]) {
      const classified = ldapError(error, 'modify', 'uid=a,dc=x', 'dir');
      assert.equal(classified.retryable, true, error.message);
      assert.equal(classified.code, 'connector');
    }
  });

  test('refusals on the merits are terminal and say what failed', () => {
    const cases = [
      [new InvalidCredentialsError('80090308: LdapErr: data 52e'), /bind of cn=admin failed: invalid credentials \(49\): 80090308/],
      [new ConstraintViolationError('0000052D: Constraint violation'), /constraint violation \(19\)/],
      [new NoSuchObjectError('no such object'), /no such object \(32\)/],
    ] as const;
    for (const [error, message] of cases) {
      const classified = ldapError(error, 'bind', 'cn=admin', 'dir');
      assert.equal(classified.retryable, false);
      assert.match(classified.message, message);
      assert.equal(classified.details.resultCode, error.code);
    }
  });

  test('a failed outcome carries the classification', () => {
    assert.deepEqual(failedOutcome(ldapError(new BusyError('x'), 'add', 'uid=a', 'dir')), {
      status: 'failed', retryable: true, message: 'LDAP add of uid=a failed: busy (51): x',
    });
  });
});
