import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical-json.ts';

test('canonical JSON sorts keys at every depth and drops undefined members', () => {
  const a = canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'x' } });
  const b = canonicalJson({ a: { c: 'x', d: [2, { x: null, z: 1 }] }, b: 1 });
  assert.equal(a, b);
  assert.equal(a, '{"a":{"c":"x","d":[2,{"x":null,"z":1}]},"b":1}');
});

test('canonical JSON writes dates as ISO instants, at any depth and inside arrays', () => {
  assert.equal(canonicalJson({ at: new Date('2026-01-02T03:04:05.006Z') }), '{"at":"2026-01-02T03:04:05.006Z"}');
  assert.equal(canonicalJson([[new Date(0)], { in: { at: new Date(0) } }]), '[["1970-01-01T00:00:00.000Z"],{"in":{"at":"1970-01-01T00:00:00.000Z"}}]');
});

test('undefined, functions and symbols are left out of objects and written null in arrays and at the top', () => {
  assert.equal(canonicalJson({ u: undefined, f: () => 1, s: Symbol('x'), k: 1 }), '{"k":1}');
  assert.equal(canonicalJson([undefined, () => 1, Symbol('x'), 1]), '[null,null,null,1]');
  assert.equal(canonicalJson(undefined), 'null');
});

test('nested arrays keep their order; only object keys are sorted', () => {
  assert.equal(canonicalJson([[3, [2, [1]]], [], [{ b: [{ d: 1, c: 2 }], a: [] }]]), '[[3,[2,[1]]],[],[{"a":[],"b":[{"c":2,"d":1}]}]]');
});

test('array-index keys come first in numeric order, then the other keys by code unit, as a JSONB value read back orders them', () => {
  assert.equal(canonicalJson({ b: 1, 10: 'ten', 9: 'nine', '01': 'text', B: 2, é: 3 }), '{"9":"nine","10":"ten","01":"text","B":2,"b":1,"é":3}');
  assert.equal(canonicalJson(JSON.parse('{"10":1,"9":2,"a":3}')), canonicalJson({ a: 3, 9: 2, 10: 1 }));
});

test('a number that is not finite is refused with where it was, never written as null', () => {
  assert.throws(() => canonicalJson({ a: { b: [1, Number.NaN] } }), /NaN at a\.b\[1\] is not a finite number/);
  assert.throws(() => canonicalJson({ limit: Infinity }), /Infinity at limit/);
  assert.throws(() => canonicalJson(-Infinity), /at the top/);
  assert.throws(() => canonicalJson({ n: 10n }), /a bigint at n has no JSON form/);
});

test('numbers and strings are written as JSON.stringify writes them', () => {
  assert.equal(canonicalJson({ n: -0, big: 1e21, small: 5e-7, s: 'ü ✓ "q" \\ \n\u2028' }), JSON.stringify({ big: 1e21, n: 0, s: 'ü ✓ "q" \\ \n\u2028', small: 5e-7 }));
});

test('a value with toJSON is written as what it would be stored as', () => {
  assert.equal(canonicalJson({ v: { toJSON: () => ({ z: 1, a: 2 }) } }), '{"v":{"a":2,"z":1}}');
  assert.equal(canonicalJson({ m: new Map([['a', 1]]) }), '{"m":{}}', 'a Map has no JSON form of its own, as JSON.stringify and JSONB have it');
});

test('a __proto__ key read back from JSON is an ordinary member, not a prototype', () => {
  assert.equal(canonicalJson(JSON.parse('{"a":2,"__proto__":{"b":1}}')), '{"__proto__":{"b":1},"a":2}');
});
