import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderedId } from './ordered-id.ts';

test('ordered ids are version-7 UUIDs that sort in the order they were made, even within one millisecond', () => {
  const ids = Array.from({ length: 10_000 }, () => orderedId(1_764_000_000_000));
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  const later = orderedId(1_764_000_000_000 + 60_000);
  assert.ok(later > ids.at(-1)!);
  assert.equal(parseInt(later.replace(/-/g, '').slice(0, 12), 16), 1_764_000_060_000);
});
