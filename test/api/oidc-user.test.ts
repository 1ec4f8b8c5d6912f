/**
 * The console user behind an OIDC sign-in: made on first sign-in from the
 * verified email, never by taking over a local account of the same name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createUser, userForOidc } from '../../src/api/auth/user-store.ts';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`OIDC console users (${backend.name})`, () => {
    test('a sign-in whose email is already a local username is refused as forbidden (the refusal page, audited) and leaves the local account as it was', async () => {
      const store = await backend.open();
      try {
        await seedOrganisation(store);
        const local = await createUser(store.db, { username: 'bob@example.test', password: 'a-long-password-1', roles: ['admin'] }, 'test');
        await assert.rejects(
          userForOidc(store.db, { sub: 'idp-bob', email: 'Bob@example.test' }, 'https://idp.example.test'),
          (error: Error & { code?: string }) => error.code === 'forbidden' && /local console user/.test(error.message),
        );
        const row = await store.db.selectFrom('console_users').select(['id', 'oidc_subject', 'password_hash']).where('username', '=', 'bob@example.test').executeTakeFirstOrThrow();
        assert.equal(row.id, local.id);
        assert.equal(row.oidc_subject, null);
        assert.ok(row.password_hash);
        assert.equal((await store.db.selectFrom('console_users').select('id').where('oidc_subject', 'is not', null).execute()).length, 0);
      } finally {
        await store.close();
      }
    });
  });
}
