import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBackends } from '../../../test/support/backends.ts';
import { testConfig } from '../../../test/support/hr-files.ts';
import type { Store } from '../../store/open-store.ts';
import { createScimToken, listScimTokens, resolveScimToken, revokeScimToken, rotateScimToken } from './scim-tokens.ts';

const config = testConfig({ sources: { entra: { type: 'scim' }, okta: { type: 'scim' } } });
const now = new Date('2026-11-22T10:00:00Z');

for (const backend of testBackends()) {
  describe(`SCIM tokens on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(async () => store.close());

    test('a token resolves to its source, name and scopes; only a hash of the secret is stored or audited', async () => {
      const { secret, token } = await createScimToken(store.db, config, { source: 'entra', name: 'entra-prod', scopes: ['scim:write'], expiresAt: null, actor: 'cli:ops', now });
      assert.match(secret, /^jml_scim_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await resolveScimToken(store.db, secret, now), { tokenId: token.id, source: 'entra', name: 'entra-prod', scopes: ['scim:write'], actor: 'scim:entra:entra-prod' });
      const stored = JSON.stringify(await store.db.selectFrom('scim_tokens').selectAll().execute());
      const audit = JSON.stringify(await store.db.selectFrom('audit_log').selectAll().execute());
      assert.ok(!stored.includes(secret) && !audit.includes(secret));
      assert.equal(await resolveScimToken(store.db, `${secret}x`, now), null);
    });

    test('rotation gives a new secret for the same name and the old one stops working at once', async () => {
      const { secret: old } = await createScimToken(store.db, config, { source: 'okta', name: 'okta', scopes: ['scim:write', 'scim:read'], expiresAt: null, actor: 'cli:ops', now });
      const { secret, token } = await rotateScimToken(store.db, 'okta', 'okta', 'cli:ops', now);
      assert.equal(await resolveScimToken(store.db, old, now), null);
      assert.equal((await resolveScimToken(store.db, secret, now))?.tokenId, token.id);
      assert.deepEqual(token.scopes, ['scim:write', 'scim:read']);
      const listed = await listScimTokens(store.db, 'okta');
      assert.deepEqual(listed.map((t) => [t.name, t.revoked]), [['okta', false], ['okta', true]]);
    });

    test('a revoked or expired token is refused', async () => {
      const { secret } = await createScimToken(store.db, config, { source: 'entra', name: 'temp', scopes: ['scim:read'], expiresAt: new Date(now.getTime() + 60_000), actor: 'cli:ops', now });
      assert.equal(await resolveScimToken(store.db, secret, new Date(now.getTime() + 61_000)), null, 'expired');
      await revokeScimToken(store.db, 'entra', 'temp', 'cli:ops', now);
      assert.equal(await resolveScimToken(store.db, secret, now), null, 'revoked');
      await assert.rejects(revokeScimToken(store.db, 'entra', 'temp', 'cli:ops', now), /no live token temp/);
    });

    test('a token is refused for a source that is not of type scim, twice under one live name, or without a scope', async () => {
      await assert.rejects(createScimToken(store.db, config, { source: 'hr', name: 'x', scopes: ['scim:write'], expiresAt: null, actor: 'a', now }), /source hr is of type hr/);
      await assert.rejects(createScimToken(store.db, config, { source: 'entra', name: 'entra-prod', scopes: ['scim:write'], expiresAt: null, actor: 'a', now }), /already has a token named entra-prod/);
      await assert.rejects(createScimToken(store.db, config, { source: 'entra', name: 'y', scopes: [], expiresAt: null, actor: 'a', now }), /needs a scope/);
      await assert.rejects(createScimToken(store.db, config, { source: 'entra', name: 'bad name', scopes: ['scim:read'], expiresAt: null, actor: 'a', now }), /letters, digits/);
    });
  });
}
