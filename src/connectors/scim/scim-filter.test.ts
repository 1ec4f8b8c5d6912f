import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { decodeCursor, encodeCursor, equalsFilter } from './scim-filter.ts';

test('filter values are JSON strings: quotes and backslashes cannot close the string', () => {
  assert.equal(equalsFilter('userName', 'x" or userName pr or "'), 'userName eq "x\\" or userName pr or \\""');
  assert.equal(equalsFilter('externalId', 'a\\"b'), 'externalId eq "a\\\\\\"b"');
  assert.equal(equalsFilter('userName', 'line\nbreak\u0000'), 'userName eq "line\\nbreak\\u0000"');
});

test('a cursor round-trips its kind, startIndex and member offset, and is refused for another kind or when forged', () => {
  const cursor = encodeCursor({ kind: 'grants', startIndex: 41, memberOffset: 3 });
  assert.deepEqual(decodeCursor('grants', cursor), { kind: 'grants', startIndex: 41, memberOffset: 3 });
  assert.deepEqual(decodeCursor('accounts', null), { kind: 'accounts', startIndex: 1, memberOffset: 0 });
  assert.throws(() => decodeCursor('accounts', cursor), (e) => isJmlError(e, 'invalid_input'));
  assert.throws(() => decodeCursor('grants', 'not-a-cursor'), (e) => isJmlError(e, 'invalid_input'));
  assert.throws(() => decodeCursor('grants', encodeCursor({ kind: 'grants', startIndex: 0, memberOffset: 0 })), (e) => isJmlError(e, 'invalid_input'));
});
