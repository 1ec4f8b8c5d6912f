import assert from 'node:assert/strict';
import { test } from 'node:test';
import { format, inspect } from 'node:util';
import { Secret, redactSecrets } from './secret.ts';

const PLAIN = 'hunter2-very-secret-token';

test('a Secret never shows its value in strings, JSON, inspect, format or errors', () => {
  const secret = new Secret(PLAIN);
  const holder = { system: 'saas', token: secret, nested: [secret] };
  const renderings = [
    String(secret),
    `${secret}`,
    JSON.stringify(holder),
    inspect(holder, { depth: 10, showHidden: true }),
    format('%s %o %O %j', secret, holder, holder, holder),
    new Error(`bad token ${secret}`).message,
    'x' + secret,
  ];
  for (const text of renderings) {
    assert.ok(!text.includes(PLAIN), `leaked in: ${text}`);
    assert.ok(text.includes('[redacted]'), `says it is redacted: ${text}`);
  }
  assert.equal(secret.reveal(), PLAIN);
});

test('a Secret has no enumerable or own string property that holds the value', () => {
  const secret = new Secret(PLAIN);
  assert.deepEqual(Object.keys(secret), []);
  assert.deepEqual(Object.getOwnPropertyNames(secret), []);
  assert.deepEqual({ ...secret }, {});
});

test('redactSecrets removes every occurrence of each secret from a text', () => {
  const a = new Secret('alpha-secret');
  const b = new Secret('beta-secret');
  assert.equal(redactSecrets('alpha-secret then beta-secret then alpha-secret', [a, b]), '[redacted] then [redacted] then [redacted]');
  assert.equal(redactSecrets('no secrets here', [a]), 'no secrets here');
});
