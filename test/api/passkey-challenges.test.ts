/**
 * The passwordless passkey route is public: anyone may ask for a challenge.
 * Each one is a row for five minutes, so the number open at once is capped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authenticationOptions, MAX_OPEN_PASSWORDLESS_CHALLENGES } from '../../src/api/auth/passkey-factor.ts';
import { testBackends } from '../support/backends.ts';

const RP = { rpId: 'localhost', origins: ['http://localhost'], name: 'jml' };

for (const backend of testBackends()) {
  describe(`passwordless challenges (${backend.name})`, () => {
    test('anonymous callers cannot fill the challenge table: past the cap a request is refused with rate_limited, and expired challenges make room again', async () => {
      const store = await backend.open();
      try {
        const now = new Date('2026-12-05T12:00:00Z');
        for (let i = 0; i < MAX_OPEN_PASSWORDLESS_CHALLENGES; i++) await authenticationOptions(store.db, RP, null, 'required', now);
        await assert.rejects(authenticationOptions(store.db, RP, null, 'required', now), (error: Error & { code?: string }) => error.code === 'rate_limited');
        const open = await store.db.selectFrom('webauthn_challenges').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(open.n), MAX_OPEN_PASSWORDLESS_CHALLENGES);
        const later = new Date(now.getTime() + 6 * 60_000);
        assert.ok((await authenticationOptions(store.db, RP, null, 'required', later)).challengeId);
      } finally {
        await store.close();
      }
    });
  });
}
