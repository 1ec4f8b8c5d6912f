import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { postgresSkipReason, skipUnlessPeer } from './peer-process.ts';

const saved = { require: process.env.JML_REQUIRE_PEERS, url: process.env.JML_TEST_DATABASE_URL };
afterEach(() => {
  for (const [key, value] of [['JML_REQUIRE_PEERS', saved.require], ['JML_TEST_DATABASE_URL', saved.url]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

test('a missing peer skips with a reason that names it', () => {
  delete process.env.JML_REQUIRE_PEERS;
  assert.equal(skipUnlessPeer('Chromium', 'no /usr/bin/chromium'), 'Chromium peer unavailable: no /usr/bin/chromium');
  assert.equal(skipUnlessPeer('Chromium', false), false);
});

test('under JML_REQUIRE_PEERS=1 a missing peer fails instead of skipping: Chromium, PostgreSQL alike', () => {
  process.env.JML_REQUIRE_PEERS = '1';
  assert.throws(() => skipUnlessPeer('Chromium', 'no /usr/bin/chromium'), /Chromium peer unavailable.*JML_REQUIRE_PEERS=1 requires it/);
  delete process.env.JML_TEST_DATABASE_URL;
  assert.throws(() => postgresSkipReason(), /PostgreSQL peer unavailable: JML_TEST_DATABASE_URL is not set/);
  process.env.JML_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/postgres';
  assert.equal(postgresSkipReason(), false);
});
