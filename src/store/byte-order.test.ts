import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareByteOrder } from './byte-order.ts';

const sign = (n: number) => Math.sign(n);

test('strings compare as their UTF-8 bytes do, characters past U+FFFF after U+E000-U+FFFF', () => {
  // In UTF-16 code units (a JavaScript `<`) '😀' (U+1F600, surrogates D83D DE00) sorts before '～' (U+FF5E).
  assert.ok('😀' < '～');
  assert.ok(compareByteOrder('😀', '～') > 0);
  assert.ok(compareByteOrder('a', 'b') < 0);
  assert.ok(compareByteOrder('ab', 'a') > 0);
  assert.equal(compareByteOrder('Équipe', 'Équipe'), 0);
  assert.ok(compareByteOrder('B', 'a') < 0, 'upper case first, as "C" has it');
});

test('random strings over every plane order as Buffer.compare orders their UTF-8', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = ['a', 'z', 'É', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uff5e', '\uffff', '😀', '\u{10000}', '\u{10ffff}', '\u0001'];
  const word = () => Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick[Math.floor(random() * pick.length)]).join('');
  for (let i = 0; i < 2_000; i++) {
    const a = word();
    const b = word();
    assert.equal(sign(compareByteOrder(a, b)), sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${JSON.stringify(a)} against ${JSON.stringify(b)}`);
  }
});
