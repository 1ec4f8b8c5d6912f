import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRetryableStatus, parseRetryAfter } from './scim-client.ts';

test('Retry-After is read as delta-seconds or as an HTTP date', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 10:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter('soon', now), null);
});

test('408, 429 and 5xx are retryable; other 4xx are terminal', () => {
  for (const status of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(status), true, String(status));
  for (const status of [400, 401, 403, 404, 409, 412, 422]) assert.equal(isRetryableStatus(status), false, String(status));
});
