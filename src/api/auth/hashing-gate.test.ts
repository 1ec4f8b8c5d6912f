import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHashingGate } from './hashing-gate.ts';

test('at most `concurrency` callers hold a slot, at most `maxWaiting` wait, and the rest are refused at once', async () => {
  const gate = createHashingGate({ concurrency: 2, maxWaiting: 1 });
  const first = gate.tryEnter();
  const second = gate.tryEnter();
  const third = gate.tryEnter();
  assert.ok(first && second && third);
  assert.equal(gate.tryEnter(), null, 'the queue is full');
  let thirdRan = false;
  void third.then(() => (thirdRan = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(thirdRan, false, 'the waiting caller waits');
  (await first)();
  await new Promise((r) => setImmediate(r));
  assert.equal(thirdRan, true, 'a released slot goes to the waiting caller');
  assert.equal(gate.tryEnter() !== null, true, 'and its place in the queue is free again');
});
