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

test('a kept-alive connection closed by the server is retried once for reads, never for a create', async () => {
  const { createScimClient } = await import('./scim-client.ts');
  const { scimSettingsSchema } = await import('./scim-settings.ts');
  const { Secret } = await import('../secrets/secret.ts');
  const calls: string[] = [];
  let failNext = 0;
  const fakeFetch = (async (url: string, init: RequestInit) => {
    calls.push(`${init.method} ${url}`);
    if (failNext > 0) {
      failNext -= 1;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    }
    return new Response('{"totalResults":0,"Resources":[]}', { status: 200 });
  }) as unknown as typeof fetch;
  const client = createScimClient(scimSettingsSchema.parse({ baseUrl: 'http://127.0.0.1:9/scim/v2', allowInsecureHttp: true }), 'saas', { token: new Secret('t0ken'), fetch: fakeFetch, warn: () => undefined });
  failNext = 1;
  assert.equal((await client.request('GET', '/Users', undefined)).status, 200);
  assert.equal(calls.length, 2);
  failNext = 1;
  calls.length = 0;
  await assert.rejects(client.request('POST', '/Users', { userName: 'x' }), (e: Error & { retryable?: boolean }) => e.retryable === true && !e.message.includes('t0ken'));
  assert.equal(calls.length, 1, 'a create is never resent blindly: the engine reads back first');
});
