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
  // The largest array index is 2^32 - 2; a larger number is an ordinary key, listed as inserted.
  assert.equal(canonicalJson({ 4294967294: 1, '01': 2 }), '{"4294967294":1,"01":2}');
  assert.equal(canonicalJson({ 4294967295: 1, '01': 2 }), '{"01":2,"4294967295":1}');
});

test('a number that is not finite is refused with where it was, never written as null', () => {
  assert.throws(() => canonicalJson({ a: { b: [1, Number.NaN] } }), /NaN at a\.b\[1\] is not a finite number/);
  assert.throws(() => canonicalJson({ limit: Infinity }), /Infinity at limit/);
  assert.throws(() => canonicalJson(-Infinity), /at the top/);
  assert.throws(() => canonicalJson({ n: 10n }), /a bigint at n has no JSON form/);
  // The value named is the one at the path named, whichever the copy met first (an index key before '-x').
  assert.throws(() => canonicalJson({ 5: Number.NaN, '-x': Infinity }), /Infinity at -x is not a finite number/);
  assert.throws(() => canonicalJson({ 9: Number.NaN, 10: 1n }), /a bigint at 10 has no JSON form/);
});

test('numbers and strings are written as JSON.stringify writes them', () => {
  assert.equal(canonicalJson({ n: -0, big: 1e21, small: 5e-7, s: 'ü ✓ "q" \\ \n\u2028' }), JSON.stringify({ big: 1e21, n: 0, s: 'ü ✓ "q" \\ \n\u2028', small: 5e-7 }));
});

test('a value with toJSON is written as what it would be stored as', () => {
  assert.equal(canonicalJson({ v: { toJSON: () => ({ z: 1, a: 2 }) } }), '{"v":{"a":2,"z":1}}');
  assert.equal(canonicalJson({ m: new Map([['a', 1]]) }), '{"m":{}}', 'a Map has no JSON form of its own, as JSON.stringify and JSONB have it');
});

test('JSON.rawJSON text is an object with its text as a member, as it always was, not raw text', () => {
  const raw = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
  if (!raw) return;
  assert.equal(canonicalJson({ v: raw('12345678901234567890') }), '{"v":{"rawJSON":"12345678901234567890"}}');
  assert.equal(canonicalJson({ v: { toJSON: () => raw('1') } }), '{"v":{"rawJSON":"1"}}');
});

test('a __proto__ key read back from JSON is an ordinary member, not a prototype', () => {
  assert.equal(canonicalJson(JSON.parse('{"a":2,"__proto__":{"b":1}}')), '{"__proto__":{"b":1},"a":2}');
});

/** The rules written the plain way, for comparison: every object copied with its keys sorted. */
function reference(value: unknown): string {
  const copy = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((e) => copy(e));
    if (v instanceof Date) return v.toISOString();
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return copy(toJSON.call(v));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const member = (v as Record<string, unknown>)[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      Object.defineProperty(out, key, { value: copy(member), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return JSON.stringify(copy(value)) ?? 'null';
}

test('values handed over as they are (keys already in order) are written as a sorted copy would write them', () => {
  // A seeded generator: the same 3,000 values on every run.
  let seed = 0x2f6e2b1;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const keys = ['a', 'b', 'c', 'B', 'é', '0', '9', '10', '01', '4294967294', '4294967295', '__proto__', 'from', 'to', 'changes'];
  const leaves = [null, true, 0, -0, 1.5, 'x', '', 'ü "q"', undefined, () => 1, Symbol('s'), new Date(86_400_000)];
  const make = (depth: number): unknown => {
    const pick = next(depth > 2 ? 2 : 6);
    if (pick < 2) return leaves[next(leaves.length)];
    if (pick === 2) return Array.from({ length: next(4) }, () => make(depth + 1));
    if (pick === 3) {
      const stored = make(depth + 1);
      return { toJSON: () => stored };
    }
    const chosen = [...new Set(Array.from({ length: next(6) }, () => keys[next(keys.length)]!))];
    if (next(2) === 0) chosen.sort();
    const out: Record<string, unknown> = next(4) === 0 ? Object.create(null) : {};
    for (const key of chosen) Object.defineProperty(out, key, { value: make(depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  };
  let handedOver = 0;
  for (let i = 0; i < 3000; i += 1) {
    const value = make(0);
    assert.equal(canonicalJson(value), reference(value), JSON.stringify(value));
    if (typeof value === 'object' && value !== null && canonicalJson(value) === JSON.stringify(value)) handedOver += 1;
  }
  assert.ok(handedOver > 100, `only ${handedOver} values were already in canonical order: the generator no longer exercises that case`);
});
