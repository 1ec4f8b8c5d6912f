import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResourceStore, type Stored } from './scim-resource-store.ts';

const user = (id: string, userName: string, externalId: string): Stored => ({ id, userName, externalId, active: true, meta: { created: 'x', lastModified: 'x' } });

test('an eq look-up on an indexed attribute returns only the resources holding that value, without a scan', () => {
  const store = createResourceStore();
  for (let i = 0; i < 1000; i++) store.set(user(`u${i}`, `user${i}@example.test`, `E${i}`));
  const found = store.candidates([{ externalId: ['eq', 'E42'] }]);
  assert.deepEqual(found?.map((u) => u.id), ['u42']);
  assert.deepEqual(store.candidates([{ externalId: ['eq', 'E42'] }, { userName: ['eq', 'USER7@example.test'] }])?.map((u) => u.id).sort(), ['u42', 'u7']);
  assert.deepEqual(store.candidates([{ externalId: ['eq', 'nobody'] }]), []);
});

test('a filter the index cannot answer says so, and the caller scans', () => {
  const store = createResourceStore();
  store.set(user('u1', 'a', 'E1'));
  assert.equal(store.candidates([{ active: ['eq', false] }]), null);
  assert.equal(store.candidates([{ externalId: ['sw', 'E'] }]), null);
  assert.equal(store.candidates([{ externalId: ['eq', 'E1'] }, { active: ['eq', true] }]), null);
});

test('the index follows a changed or deleted resource', () => {
  const store = createResourceStore();
  store.set(user('u1', 'a', 'E1'));
  store.set(user('u1', 'b', 'E2'));
  assert.deepEqual(store.candidates([{ externalId: ['eq', 'E1'] }]), []);
  assert.deepEqual(store.candidates([{ userName: ['eq', 'b'] }])?.map((u) => u.id), ['u1']);
  assert.equal(store.holder('userName', 'B')?.id, 'u1');
  assert.equal(store.holder('userName', 'b', 'u1'), undefined);
  assert.equal(store.delete('u1'), true);
  assert.deepEqual(store.candidates([{ userName: ['eq', 'b'] }]), []);
  assert.equal(store.holder('userName', 'b'), undefined);
});
