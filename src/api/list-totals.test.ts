import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createListTotals, LIST_TOTAL_TTL_MS, RECOUNT_AFTER } from './list-totals.ts';

test('a total is counted once while fresh, shared by callers at once, and counted again when it has aged', async () => {
  let clock = 0;
  let counts = 0;
  const totals = createListTotals(() => new Date(clock));
  const count = async () => {
    counts += 1;
    return 100 + counts;
  };
  assert.deepEqual(await Promise.all([totals.get('all', count), totals.get('all', count)]), [101, 101]);
  clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER;
  assert.equal(await totals.get('all', count), 101);
  clock = LIST_TOTAL_TTL_MS + 1;
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

test('past three quarters of its life a total is still answered at once, while one recount runs behind it and replaces it when done', async () => {
  let clock = 0;
  const started: { resolve(n: number): void }[] = [];
  const totals = createListTotals(() => new Date(clock));
  const count = () => new Promise<number>((resolve) => started.push({ resolve }));
  const first = totals.get('all', count);
  started[0]!.resolve(100);
  assert.equal(await first, 100);
  clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER + 1;
  // The recount hangs: the callers must not wait for it.
  assert.deepEqual(await Promise.all([totals.get('all', count), totals.get('all', count)]), [100, 100]);
  assert.equal(started.length, 2, 'exactly one recount started');
  started[1]!.resolve(105);
  await new Promise((resolve) => setImmediate(resolve));
  clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER;
  assert.equal(await totals.get('all', count), 105);
  assert.equal(started.length, 2, 'the recount is the fresh total now: no third count');
});

test('a recount behind a fresh total that fails leaves that total, and callers wait once it has aged', async () => {
  let clock = 0;
  let counts = 0;
  const totals = createListTotals(() => new Date(clock));
  assert.equal(await totals.get('all', async () => 7), 7);
  clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER + 1;
  assert.equal(await totals.get('all', async () => { counts += 1; throw new Error('connection lost'); }), 7);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await totals.get('all', async () => 8), 7, 'still fresh: the failure did not discard it');
  clock = LIST_TOTAL_TTL_MS + 1;
  assert.equal(await totals.get('all', async () => 9), 9);
  assert.equal(counts, 1);
});

test('a total whose change mark has not moved lives on past its life without a count, and is counted again once the mark moves', async () => {
  let clock = 0;
  let counts = 0;
  let mark = 'x1';
  const totals = createListTotals(() => new Date(clock), LIST_TOTAL_TTL_MS, 1_000, async () => mark);
  const count = async () => {
    counts += 1;
    return 100 + counts;
  };
  assert.equal(await totals.get('all', count), 101);
  clock += LIST_TOTAL_TTL_MS + 1;
  assert.equal(await totals.get('all', count), 101, 'nothing committed: the total is still exact');
  assert.equal(counts, 1);
  mark = 'x2';
  clock += LIST_TOTAL_TTL_MS + 1;
  assert.equal(await totals.get('all', count), 102, 'a commit since: counted before the page answers');
  assert.equal(counts, 2);
});

test('a recount behind a fresh total is skipped while the change mark stands still, and the total lives on from then', async () => {
  let clock = 0;
  let counts = 0;
  let marks = 0;
  const totals = createListTotals(() => new Date(clock), LIST_TOTAL_TTL_MS, 1_000, async () => {
    marks += 1;
    return 'same';
  });
  const count = async () => {
    counts += 1;
    return 7;
  };
  await totals.get('all', count);
  clock = LIST_TOTAL_TTL_MS * RECOUNT_AFTER + 1;
  assert.equal(await totals.get('all', count), 7);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(marks, 2, 'the recount read the mark');
  // Renewed at the recount's start: no further recount until three quarters of a life from then.
  clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER - 1;
  assert.equal(await totals.get('all', count), 7);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(marks, 2);
  assert.equal(counts, 1);
});

test('a change mark that cannot be read fails that count, which is not remembered', async () => {
  let broken = true;
  const totals = createListTotals(() => new Date(0), LIST_TOTAL_TTL_MS, 1_000, async () => (broken ? Promise.reject(new Error('connection lost')) : 'm'));
  await assert.rejects(totals.get('all', async () => 1), /connection lost/);
  broken = false;
  assert.equal(await totals.get('all', async () => 2), 2);
});
