import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containing, escapeLike } from './like-pattern.ts';

test('LIKE wildcards and the escape character in user text are matched literally', () => {
  assert.equal(escapeLike('50%_off\\'), '50\\%\\_off\\\\');
  assert.equal(containing('a_b'), '%a\\_b%');
  assert.equal(containing('plain'), '%plain%');
});
