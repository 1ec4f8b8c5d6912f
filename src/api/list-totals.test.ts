import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createListTotals, LIST_TOTAL_TTL_MS } from './list-totals.ts';

test('a total is counted once while fresh, shared by callers at once, and counted again when it has aged', async () => {
  let clock = 0;
  let counts = 0;
  const totals = createListTotals(() => new Date(clock));
  const count = async () => {
    counts += 1;
    return 100 + counts;
  };
  assert.deepEqual(await Promise.all([totals.get('all', count), totals.get('all', count)]), [101, 101]);
  clock += LIST_TOTAL_TTL_MS;
  assert.equal(await totals.get('all', count), 101);
  clock += 1;
  assert.equal(await totals.get('all', count), 102);
  assert.equal(counts, 2);
});

test('each filter and viewer has a total of its own', async () => {
  const totals = createListTotals(() => new Date(0));
  assert.equal(await totals.get('["*","Finance"]', async () => 12), 12);
  assert.equal(await totals.get('["E1",null]', async () => 3), 3);
  assert.equal(await totals.get('["*","Finance"]', async () => 99), 12);
});

test('a count that failed is not remembered', async () => {
  const totals = createListTotals(() => new Date(0));
  await assert.rejects(totals.get('all', async () => Promise.reject(new Error('connection lost'))), /connection lost/);
  assert.equal(await totals.get('all', async () => 7), 7);
});
