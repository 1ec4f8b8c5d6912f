import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servedMfaPolicy } from './serve-command.ts';

const config = { mfa: { required_roles: ['admin', 'hr'] as ('admin' | 'security' | 'hr')[], step_up_minutes: 10 } };

test('jml serve enforces the configured roles and step-up window', () => {
  assert.deepEqual(servedMfaPolicy(config, false), { requiredRoles: ['admin', 'hr'], stepUpMs: 600_000 });
});

test('jml serve --demo requires a second factor of nobody but keeps the step-up window', () => {
  assert.deepEqual(servedMfaPolicy(config, true), { requiredRoles: [], stepUpMs: 600_000 });
});
