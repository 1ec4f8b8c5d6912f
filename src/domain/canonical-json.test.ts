import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical-json.ts';

test('canonical JSON sorts keys at every depth and drops undefined members', () => {
  const a = canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'x' } });
  const b = canonicalJson({ a: { c: 'x', d: [2, { x: null, z: 1 }] }, b: 1 });
  assert.equal(a, b);
  assert.equal(a, '{"a":{"c":"x","d":[2,{"x":null,"z":1}]},"b":1}');
});

test('canonical JSON writes dates as ISO instants', () => {
  assert.equal(canonicalJson({ at: new Date('2026-01-02T03:04:05.006Z') }), '{"at":"2026-01-02T03:04:05.006Z"}');
});
