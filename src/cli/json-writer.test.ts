import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { writeJson } from './json-writer.ts';

function written(value: unknown): { text: string; pieces: number } {
  let text = '';
  let pieces = 0;
  writeJson((s) => {
    text += s;
    pieces += 1;
  }, value);
  return { text, pieces };
}

test('the written document is byte for byte what JSON.stringify(value, null, 2) gives, for any JSON value', () => {
  const big = fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 60, maxLength: 140 });
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), big, fc.record({ events: big, counts: fc.dictionary(fc.string(), fc.integer()), note: fc.string() })), (value) => {
      assert.equal(written(value).text, JSON.stringify(value, null, 2));
    }),
    { numRuns: 300 },
  );
});

test('undefined, functions and dates come out as JSON.stringify writes them, inside a streamed array too', () => {
  const events = Array.from({ length: 100 }, (_, i) => ({ i, gone: undefined, at: new Date(Date.UTC(2026, 0, 1 + (i % 28))), f: () => i }));
  const value = { events, list: [...Array.from({ length: 70 }, () => undefined), 1], empty: {}, none: [] };
  assert.equal(written(value).text, JSON.stringify(value, null, 2));
});

test('a large array is written element by element, not as one string', () => {
  const events = Array.from({ length: 10_000 }, (_, i) => ({ key: `E${i}`, changes: { department: [null, 'Sales'] } }));
  assert.ok(written({ status: 'applied', events }).pieces > 10_000);
});

test('a large array deeper down (a plan\'s changes inside the plan file) is written element by element too', () => {
  const changes = Array.from({ length: 10_000 }, (_, i) => ({ id: `c${i}`, kind: 'add_grant', dependsOn: [] }));
  const value = { format: 1, scope: {}, plan: { id: 'p', fingerprint: 'f', changes }, observed: {} };
  const out = written(value);
  assert.ok(out.pieces > 10_000);
  assert.equal(out.text, JSON.stringify(value, null, 2));
});
