import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryDelayMs } from './retry-backoff.ts';

describe('retry backoff', () => {
  const backoff = { baseDelayMs: 100, maxDelayMs: 1_000 };

  test('the delay doubles with each failed try up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, backoff, () => 1)), [100, 200, 400, 800, 1_000]);
  });

  test('jitter keeps at least half of the step', () => {
    assert.equal(retryDelayMs(3, backoff, () => 0), 200);
  });

  test('a Retry-After longer than the step is honoured', () => {
    assert.equal(retryDelayMs(1, backoff, () => 0, 5_000), 5_000);
  });
});
