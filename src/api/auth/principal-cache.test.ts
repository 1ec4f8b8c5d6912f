import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrincipalCache } from './principal-cache.ts';
import type { Principal } from './principal.ts';

const principal = (userId: string, identityKey: string | null): Principal => ({ userId, username: userId, displayName: userId, identityKey, roles: new Set(['user']), ownedSystems: [], via: 'session', scopes: null, csrfToken: 'x', signedInAt: null, mustChangePassword: false, mfa: { enrolled: false, verifiedAt: null, localPassword: true } });

test('a cached principal is served until its time-to-live passes, then resolved again', () => {
  const cache = createPrincipalCache(1000);
  cache.set('h1', principal('u1', 'E1'), 0);
  assert.equal(cache.get('h1', 999)?.userId, 'u1');
  assert.equal(cache.get('h1', 1000), undefined);
});

test('an unknown token is cached as null, distinct from a miss', () => {
  const cache = createPrincipalCache(1000);
  cache.set('bad', null, 0);
  assert.equal(cache.get('bad', 10), null);
  assert.equal(cache.get('other', 10), undefined);
});

test('forgetting a user or an identity drops every token of theirs and no one else’s', () => {
  const cache = createPrincipalCache(1000);
  cache.set('s1', principal('u1', 'E1'), 0);
  cache.set('t1', principal('u1', 'E1'), 0);
  cache.set('s2', principal('u2', 'E2'), 0);
  cache.forgetWhere({ identityKey: 'E1' });
  assert.equal(cache.get('s1', 1), undefined);
  assert.equal(cache.get('t1', 1), undefined);
  assert.equal(cache.get('s2', 1)?.userId, 'u2');
  cache.forgetWhere({ userId: 'u2' });
  assert.equal(cache.get('s2', 1), undefined);
});
