import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limitedList, tableLines } from './table-text.ts';

test('a table has a header row and columns as wide as their widest cell, the last unpadded', () => {
  const rows = [{ key: 'E1', name: 'Ada Lovelace', dept: 'Engineering' }, { key: 'E1002', name: 'Al', dept: '' }];
  assert.deepEqual(tableLines([
    { header: 'key', value: (r) => r.key },
    { header: 'name', value: (r) => r.name },
    { header: 'department', value: (r) => r.dept },
  ], rows), [
    'KEY    NAME          DEPARTMENT',
    'E1     Ada Lovelace  Engineering',
    'E1002  Al',
  ]);
});

test('a list read with one row more than the limit says it was truncated; one that fits does not', () => {
  assert.deepEqual(limitedList([1, 2, 3], 2), { items: [1, 2], truncated: true, limit: 2 });
  assert.deepEqual(limitedList([1, 2], 2), { items: [1, 2], truncated: false, limit: 2 });
});
