/**
 * Password guessing through /api/auth/sign-in: limits per (user, address), per
 * user and per address hold under parallel requests, are shared by every API
 * instance on one database, and the number of passwords hashed at once is
 * bounded (the rest are refused at once rather than queued).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createSignInLimiter, signInLimits } from '../../src/api/auth/sign-in-limiter.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createTestDatabase, testBackends } from '../support/backends.ts';
import { PASSWORD, seedOrganisation, startApi } from './api-fixture.ts';

type Server = Awaited<ReturnType<typeof buildApiServer>>;

function attempt(app: Server, username: string, password: string, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username, password }, remoteAddress, headers });
}

function count(statuses: readonly number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

for (const backend of testBackends()) {
  describe(`sign-in limits (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      // A hashing queue long enough that these tests see the limits alone.
      api = await startApi(store, { signInLimit: 10, signInHashing: { concurrency: 2, maxWaiting: 1000 } });
      for (let i = 0; i < 4; i += 1) await createUser(store.db, { username: `victim-${i}`, password: PASSWORD }, 'test');
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('a failed sign-in is audited against the user it named, and what was typed for a username that names no one is never written', async () => {
      const typed = 'Hunter2-pasted-into-the-username-field';
      assert.equal((await attempt(api.app, typed, 'whatever', '10.1.0.9')).statusCode, 401);
      assert.equal((await attempt(api.app, 'victim-3', 'wrong', '10.1.0.9')).statusCode, 401);
      const failures = await store.db.selectFrom('audit_log').select(['actor', 'subject', 'details']).where('action', '=', 'auth.sign_in_failed').execute();
      assert.ok(!JSON.stringify(failures).includes(typed), 'the typed text is nowhere in the audit trail');
      assert.ok(failures.some((f) => f.subject === 'user:unknown' && f.actor === 'anonymous'), JSON.stringify(failures));
      const victim = await store.db.selectFrom('console_users').select('id').where('username', '=', 'victim-3').executeTakeFirstOrThrow();
      assert.ok(failures.some((f) => f.subject === `user:${victim.id}`), 'the named user’s failure names them');
    });

    test('sixty parallel wrong passwords for one user from one address: ten are checked, fifty are refused with 429 and Retry-After', async () => {
      const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => attempt(api.app, 'victim-0', `wrong-${i}`, '10.1.0.1')));
      assert.deepEqual(count(responses.map((r) => r.statusCode)), { 401: 10, 429: 50 });
      const refused = responses.find((r) => r.statusCode === 429)!;
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.equal(refused.json().error.code, 'rate_limited');
    });

    test('a hundred parallel wrong passwords for different usernames from one address: beyond fifty they are refused with 429', async () => {
      const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(api.app, `nobody-${i}`, 'wrong', '10.1.0.2')));
      assert.deepEqual(count(responses.map((r) => r.statusCode)), { 401: 50, 429: 50 });
    });

    test('ten failures for one user at an address do not lock another user at that address', async () => {
      for (let i = 0; i < 10; i += 1) assert.equal((await attempt(api.app, 'victim-1', 'wrong', '10.1.0.3')).statusCode, 401);
      assert.equal((await attempt(api.app, 'victim-1', PASSWORD, '10.1.0.3')).statusCode, 429);
      assert.equal((await attempt(api.app, 'alice', PASSWORD, '10.1.0.3')).statusCode, 200);
    });

    test('failures for one user spread over many addresses lock that user after thirty, at every address', async () => {
      const statuses = [];
      for (let i = 0; i < 31; i += 1) statuses.push((await attempt(api.app, 'victim-2', 'wrong', `10.2.0.${i + 1}`)).statusCode);
      assert.deepEqual(count(statuses), { 401: 30, 429: 1 });
      assert.equal((await attempt(api.app, 'victim-2', PASSWORD, '10.2.1.1')).statusCode, 429);
    });

    test('two API instances on one database share the limit', async () => {
      const second = await buildApiServer(api.deps);
      try {
        for (let i = 0; i < 10; i += 1) assert.equal((await attempt(i % 2 === 0 ? api.app : second, 'victim-3', 'wrong', '10.3.0.1')).statusCode, 401);
        assert.equal((await attempt(second, 'victim-3', 'wrong', '10.3.0.1')).statusCode, 429);
        assert.equal((await attempt(api.app, 'victim-3', 'wrong', '10.3.0.1')).statusCode, 429);
      } finally {
        await second.close();
      }
    });

    test('a correct password clears the failures of that user at that address', async () => {
      await createUser(store.db, { username: 'typo', password: PASSWORD }, 'test');
      for (let i = 0; i < 9; i += 1) await attempt(api.app, 'typo', 'wrong', '10.4.0.1');
      assert.equal((await attempt(api.app, 'typo', PASSWORD, '10.4.0.1')).statusCode, 200);
      for (let i = 0; i < 9; i += 1) assert.equal((await attempt(api.app, 'typo', 'wrong', '10.4.0.1')).statusCode, 401);
    });

    test('an attempt counts for fifteen minutes: the refusal says how long to wait, and after that a new attempt is allowed', async () => {
      const limiter = createSignInLimiter(store.db, signInLimits(10));
      const t0 = new Date('2030-01-01T10:00:00Z');
      for (let i = 0; i < 10; i += 1) assert.ok('id' in (await limiter.reserve('window-user', '10.8.0.1', new Date(t0.getTime() + i * 1000))));
      const refused = await limiter.reserve('window-user', '10.8.0.1', new Date(t0.getTime() + 60_000));
      assert.deepEqual(refused, { retryAfterMs: 15 * 60_000 - 60_000 });
      assert.ok('id' in (await limiter.reserve('window-user', '10.8.0.1', new Date(t0.getTime() + 15 * 60_000 + 1))), 'the oldest attempt has left the window');
      assert.ok('retryAfterMs' in (await limiter.reserve('window-user', '10.8.0.1', new Date(t0.getTime() + 15 * 60_000 + 2))), 'the other nine still count');
    });

    test('when more sign-ins wait for password hashing than the queue holds, the extra ones are refused at once with 503 and Retry-After', async () => {
      const app = await buildApiServer({ ...api.deps, signInHashing: { concurrency: 1, maxWaiting: 2 } });
      try {
        const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(app, `queued-${i}`, 'wrong', `10.5.0.${i + 1}`)));
        assert.deepEqual(count(responses.map((r) => r.statusCode)), { 401: 3, 503: 7 });
        const refused = responses.find((r) => r.statusCode === 503)!;
        assert.equal(refused.headers['retry-after'], '1');
        assert.equal(refused.json().error.code, 'unavailable');
      } finally {
        await app.close();
      }
    });

    test('behind a proxy trusted by hop count, a rotated X-Forwarded-For does not give a fresh address', async () => {
      const app = await buildApiServer(api.deps, { trustProxy: 1 });
      try {
        const statuses = [];
        for (let i = 0; i < 11; i += 1) statuses.push((await attempt(app, 'bob', 'wrong', '127.0.0.1', { 'x-forwarded-for': `198.51.100.${i + 1}, 10.6.0.1` })).statusCode);
        assert.deepEqual(count(statuses), { 401: 10, 429: 1 });
      } finally {
        await app.close();
      }
    });
  });
}

if (process.env.JML_TEST_DATABASE_URL) {
  describe('sign-in limits across two processes’ stores on one PostgreSQL database', () => {
    test('failures counted through one connection pool refuse sign-ins through another', async () => {
      const database = await createTestDatabase();
      const [one, two] = [await openStore({ databaseUrl: database.url, poolSize: 4 }), await openStore({ databaseUrl: database.url, poolSize: 4 })];
      try {
        await seedOrganisation(one);
        await createUser(one.db, { username: 'shared', password: PASSWORD }, 'test');
        const a = await startApi(one, { signInLimit: 10 });
        const second = await buildApiServer({ ...a.deps, db: two.db });
        const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 === 0 ? a.app : second, 'shared', 'wrong', '10.7.0.1')));
        assert.deepEqual(count(responses.map((r) => r.statusCode)), { 401: 10, 429: 10 });
        await a.app.close();
        await second.close();
      } finally {
        await one.close();
        await two.close();
        await database.drop();
      }
    });
  });
}
