import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findUnstorableText } from './request-text.ts';

test('a NUL character or lone surrogate is found at any depth, in values and in keys, with its path', () => {
  assert.deepEqual(findUnstorableText({ name: 'a\u0000' }), { path: 'name', message: 'contains a NUL character' });
  assert.deepEqual(findUnstorableText({ a: [{ b: 'ok' }, { c: ['x', '\ud800'] }] }), { path: 'a.1.c.1', message: 'is not well-formed Unicode (lone surrogate)' });
  assert.deepEqual(findUnstorableText({ attributes: { 'ph\u0000one': '1' } }), { path: 'attributes.ph\ufffdone', message: 'key contains a NUL character' });
  assert.deepEqual(findUnstorableText('\udfff'), { path: '', message: 'is not well-formed Unicode (lone surrogate)' });
});

test('well-formed text, emoji and other values pass, and deep or wide bodies are walked without trouble', () => {
  assert.equal(findUnstorableText({ name: '👩‍👩‍👧 Zoë', n: 1, ok: true, none: null, list: [[], {}] }), null);
  let deep: unknown = 'end';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(findUnstorableText(deep), null);
  assert.equal(findUnstorableText(Array.from({ length: 1_000_000 }, () => [])), null);
  assert.deepEqual(findUnstorableText([...Array.from({ length: 1000 }, () => 'fine'), 'bad\u0000']), { path: '1000', message: 'contains a NUL character' });
});
