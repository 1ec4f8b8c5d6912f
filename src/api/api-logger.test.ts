import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { logLevelFromEnv } from './api-logger.ts';

test('JML_LOG_LEVEL picks the level, info when unset, and an unknown level is refused by name', () => {
  assert.equal(logLevelFromEnv({}), 'info');
  assert.equal(logLevelFromEnv({ JML_LOG_LEVEL: 'DEBUG' }), 'debug');
  assert.equal(logLevelFromEnv({ JML_LOG_LEVEL: 'silent' }), 'silent');
  assert.throws(() => logLevelFromEnv({ JML_LOG_LEVEL: 'loud' }), (e) => isJmlError(e, 'invalid_input') && /JML_LOG_LEVEL: "loud"/.test(e.message));
});
