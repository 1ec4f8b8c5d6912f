import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { configuredSource, parseConfigText } from './config.ts';

test('without an mfa section, admin, security and hr must enrol a second factor and the step-up window is 15 minutes', () => {
  assert.deepEqual(parseConfigText('timezone: UTC\n', 'jml.config.yaml').mfa, { required_roles: ['admin', 'security', 'hr'], step_up_minutes: 15 });
});

test('the roles that must enrol are configured per role, and an empty list requires it of nobody', () => {
  assert.deepEqual(parseConfigText('mfa:\n  required_roles: [admin]\n  step_up_minutes: 5\n', 'jml.config.yaml').mfa, { required_roles: ['admin'], step_up_minutes: 5 });
  assert.deepEqual(parseConfigText('mfa:\n  required_roles: []\n', 'jml.config.yaml').mfa.required_roles, []);
});

test('an unknown role in mfa.required_roles is refused naming the file, line and path', () => {
  assert.throws(
    () => parseConfigText('timezone: UTC\nmfa:\n  required_roles: [admin, root]\n', '/etc/jml/jml.config.yaml'),
    (error: unknown) => isJmlError(error, 'invalid_input') && /\/etc\/jml\/jml\.config\.yaml:3 mfa\.required_roles/.test(error.message),
  );
});

test('a source name that only the prototype of an object holds, such as "constructor", is an unknown source', () => {
  const config = parseConfigText('sources:\n  hr:\n    type: hr\n', 'jml.config.yaml');
  assert.equal(configuredSource(config, 'hr').type, 'hr');
  for (const name of ['constructor', '__proto__', 'toString', 'payroll']) {
    assert.throws(() => configuredSource(config, name), (error: unknown) => isJmlError(error, 'invalid_input') && error.message.includes(`unknown source "${name}"`));
  }
});
