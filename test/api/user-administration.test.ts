/**
 * User and role administration needs an admin's browser session with a recent
 * sign-in (never an API token), and a lost password has a recovery path: a
 * one-time password that must be replaced at the next sign-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { toOcsf } from '../../src/app/siem/siem-formats.ts';
import { readAudit } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { PASSWORD, seedOrganisation, signIn, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`user administration (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    let offsetMs = 0;
    const as = (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      api = await startApi(store, { now: () => new Date(Date.now() + offsetMs) });
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('a write-scope API token of an admin can neither create a user nor change roles', async () => {
      const created = await api.app.inject({ method: 'POST', url: '/api/me/tokens', headers: as(api.sessions.admin), payload: { name: 'automation', scopes: ['read', 'write'] } });
      const bearer = { authorization: `Bearer ${(created.json() as { token: string }).token}` };
      const create = await api.app.inject({ method: 'POST', url: '/api/users', headers: bearer, payload: { username: 'mallory', password: 'a-long-password-1', roles: ['admin'] } });
      assert.equal(create.statusCode, 403);
      assert.match(create.json().error.message, /browser session, not an API token/);
      const denied = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'access.denied').where('subject', '=', 'route:POST /api/users').execute();
      assert.equal(denied.length, 1, 'the refusal is audited');
      const users = (await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer })).json() as { items: { id: string; username: string }[] };
      assert.ok(!users.items.some((u) => u.username === 'mallory'), 'nobody was created');
      const alice = users.items.find((u) => u.username === 'alice')!;
      assert.equal((await api.app.inject({ method: 'PATCH', url: `/api/users/${alice.id}`, headers: bearer, payload: { roles: ['admin'] } })).statusCode, 403);
      assert.equal((await api.app.inject({ method: 'POST', url: `/api/users/${alice.id}/password-reset`, headers: bearer })).statusCode, 403);
    });

    test('API token use is audited as an authentication at most once a minute, and a revoked token is audited as refused; the SIEM gets both as OCSF Authentication (3002)', async () => {
      const created = await api.app.inject({ method: 'POST', url: '/api/me/tokens', headers: as(api.sessions.user), payload: { name: 'laptop-script', scopes: ['read'] } });
      const { token, info: { id } } = created.json() as { token: string; info: { id: string } };
      const bearer = { authorization: `Bearer ${token}` };
      const entries = async () => {
        const out = [];
        for await (const e of readAudit(store.db, { subject: `token:${id}` })) out.push(e);
        return out;
      };
      for (let i = 0; i < 3; i++) assert.equal((await api.app.inject({ method: 'GET', url: '/api/auth/session', headers: bearer })).statusCode, 200);
      assert.deepEqual((await entries()).map((e) => e.action), ['auth.token_used'], 'three calls within a minute: one entry');
      assert.equal((await api.app.inject({ method: 'DELETE', url: `/api/me/tokens/${id}`, headers: as(api.sessions.user) })).statusCode < 300, true);
      offsetMs = 2 * 60_000; // past the principal cache, so the revoked token is looked up again
      try {
        assert.equal((await api.app.inject({ method: 'GET', url: '/api/auth/session', headers: bearer })).statusCode, 401);
      } finally {
        offsetMs = 0;
      }
      const audited = await entries();
      assert.deepEqual(audited.map((e) => [e.action, (e.details as { reason?: string }).reason ?? null]), [['auth.token_used', null], ['auth.token_refused', 'revoked']]);
      assert.deepEqual(audited.map((e) => { const o = toOcsf(e); return [o.class_uid, o.status_id]; }), [[3002, 1], [3002, 2]]);
      const random = await api.app.inject({ method: 'GET', url: '/api/auth/session', headers: { authorization: 'Bearer jml_notatoken' } });
      assert.equal(random.statusCode, 401);
      assert.equal((await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'auth.token_refused').execute()).length, 1, 'a string jml never issued is not audited');
    });

    test('an admin session signed in more than fifteen minutes ago must sign in again to administer users; a fresh sign-in may', async () => {
      const old = await signIn(api.app, 'root');
      offsetMs = 16 * 60_000;
      try {
        const stale = await api.app.inject({ method: 'POST', url: '/api/users', headers: as(old), payload: { username: 'late-admin', password: 'a-long-password-1', roles: ['admin'] } });
        assert.equal(stale.statusCode, 403);
        assert.equal(stale.json().error.details.signInAgain, true);
        assert.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: as(old) })).statusCode, 200, 'reading the list is still allowed');
        const fresh = await signIn(api.app, 'root');
        assert.equal((await api.app.inject({ method: 'POST', url: '/api/users', headers: as(fresh), payload: { username: 'late-admin', password: 'a-long-password-1', roles: ['admin'] } })).statusCode, 201);
      } finally {
        offsetMs = 0;
      }
    });

    test('a password reset returns a one-time password once, ends the user’s sessions, and the user must choose a new password before anything else', async () => {
      const bobSession = await signIn(api.app, 'alice');
      const users = (await api.app.inject({ method: 'GET', url: '/api/users', headers: as(api.sessions.admin) })).json() as { items: { id: string; username: string }[] };
      const alice = users.items.find((u) => u.username === 'alice')!;
      const reset = await api.app.inject({ method: 'POST', url: `/api/users/${alice.id}/password-reset`, headers: as(api.sessions.admin) });
      assert.equal(reset.statusCode, 200);
      const { oneTimePassword } = reset.json() as { oneTimePassword: string };
      assert.equal(oneTimePassword.length, 20);
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: bobSession.cookie } })).statusCode, 401, 'the old session ended');
      assert.equal((await api.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username: 'alice', password: PASSWORD } })).statusCode, 401, 'the old password no longer works');

      const fresh = await signIn(api.app, 'alice', oneTimePassword);
      const session = (await api.app.inject({ method: 'GET', url: '/api/auth/session', headers: { cookie: fresh.cookie } })).json() as { mustChangePassword: boolean };
      assert.equal(session.mustChangePassword, true);
      const blocked = await api.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: fresh.cookie } });
      assert.equal(blocked.statusCode, 403);
      assert.equal(blocked.json().error.details.mustChangePassword, true);
      const same = await api.app.inject({ method: 'POST', url: '/api/me/password', headers: as(fresh), payload: { currentPassword: oneTimePassword, newPassword: oneTimePassword } });
      assert.equal(same.statusCode, 400);
      const changed = await api.app.inject({ method: 'POST', url: '/api/me/password', headers: as(fresh), payload: { currentPassword: oneTimePassword, newPassword: 'alice-new-password-1' } });
      assert.equal(changed.statusCode, 200);
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: fresh.cookie } })).statusCode, 200);
      await signIn(api.app, 'alice', 'alice-new-password-1');

      const audit = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('subject', '=', `user:${alice.id}`).where('action', 'in', ['user.password_reset', 'user.password_changed']).orderBy('seq').execute();
      assert.deepEqual(audit.map((a) => a.action), ['user.password_reset', 'user.password_changed']);
      assert.equal(audit[0]!.actor, 'user:root');
    });

    test('wrong current passwords on a password change count like failed sign-ins: after ten, the change is refused with 429', async () => {
      const limited = await buildApiServer({ ...api.deps, signInLimit: 10 });
      try {
        const change = () => limited.inject({ method: 'POST', url: '/api/me/password', headers: as(api.sessions.hr), payload: { currentPassword: 'a guess', newPassword: 'taken-over-password-1' }, remoteAddress: '10.9.0.1' });
        for (let i = 0; i < 10; i += 1) assert.equal((await change()).statusCode, 403);
        assert.equal((await change()).statusCode, 429);
      } finally {
        await limited.close();
      }
    });
  });
}
