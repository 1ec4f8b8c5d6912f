/**
 * Every route × every role: who gets through, who is refused (403, or 404
 * when even the existence of the thing is not theirs to know), and that each
 * refusal leaves an audit entry. A route added without a row here fails the
 * coverage test. The inbound SCIM routes have a matrix of their own below.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackends } from '../support/backends.ts';
import type { Store } from '../../src/store/open-store.ts';
import { PASSWORD, ROLE_USERS, seedOrganisation, signIn, startApi, type RoleUser } from './api-fixture.ts';
import { PRINCIPAL_TTL_MS } from '../../src/api/auth/principal-cache.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { revokeScimToken } from '../../src/app/inbound/scim-tokens.ts';
import { startScimEndpoint, type ScimEndpoint } from '../support/scim-endpoint.ts';

type Expect = 'ok' | 403 | 404;
interface Case {
  readonly method: string;
  readonly route: string;
  readonly url: string;
  readonly body?: unknown;
  /** Expected outcome per role; `ok` is any status below 400 or a domain error other than 401/403/404 (the port may be absent). */
  readonly expect: Readonly<Record<RoleUser, Expect | 'any'>>;
}

const all = (e: Expect | 'any'): Record<RoleUser, Expect | 'any'> => ({ admin: e, security: e, hr: e, manager: e, owner: e, user: e });
const only = (roles: readonly RoleUser[], otherwise: Expect = 403): Record<RoleUser, Expect> =>
  Object.fromEntries(ROLE_USERS.map((r) => [r, roles.includes(r) ? 'ok' : otherwise])) as Record<RoleUser, Expect>;

const CASES: readonly Case[] = [
  { method: 'POST', route: '/api/auth/sign-out', url: '/api/auth/sign-out', expect: all('any') },
  { method: 'GET', route: '/api/auth/session', url: '/api/auth/session', expect: all('ok') },
  { method: 'GET', route: '/api/me/tokens', url: '/api/me/tokens', expect: all('ok') },
  { method: 'POST', route: '/api/me/tokens', url: '/api/me/tokens', body: { name: 'ci', scopes: ['read'] }, expect: all('ok') },
  { method: 'DELETE', route: '/api/me/tokens/:id', url: '/api/me/tokens/tok-none', expect: all(404) },
  { method: 'GET', route: '/api/dashboard', url: '/api/dashboard', expect: only(['admin', 'security', 'hr']) },
  { method: 'GET', route: '/api/users', url: '/api/users', expect: only(['admin']) },
  { method: 'POST', route: '/api/users', url: '/api/users', body: { username: 'x-new', password: 'a-long-password-1' }, expect: only(['admin']) },
  { method: 'PATCH', route: '/api/users/:id', url: '/api/users/usr-none', body: { roles: ['hr'] }, expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/users/:id/password-reset', url: '/api/users/usr-none/password-reset', expect: { ...only(['admin']), admin: 404 } },
  // A wrong current password: refused for everyone, and nobody's password changes.
  { method: 'POST', route: '/api/me/password', url: '/api/me/password', body: { currentPassword: 'not-it', newPassword: 'another-long-password' }, expect: all('any') },
  { method: 'GET', route: '/api/audit', url: '/api/audit', expect: only(['admin', 'security']) },
  { method: 'GET', route: '/api/people', url: '/api/people', expect: all('ok') },
  // The manager reads their own report but not someone in another team.
  { method: 'GET', route: '/api/people/:key', url: '/api/people/alice', expect: { admin: 'ok', security: 'ok', hr: 'ok', manager: 'ok', owner: 404, user: 'ok' } },
  { method: 'GET', route: '/api/people/:key', url: '/api/people/bob', expect: { admin: 'ok', security: 'ok', hr: 'ok', manager: 404, owner: 404, user: 404 } },
  // Mass assignment: a person may set their phone, never their status or manager.
  { method: 'PATCH', route: '/api/people/:key', url: '/api/people/alice', body: { attributes: { phone: '+1 555 0100' } }, expect: { admin: 'ok', security: 403, hr: 'ok', manager: 403, owner: 404, user: 'ok' } },
  { method: 'PATCH', route: '/api/people/:key', url: '/api/people/alice', body: { status: 'active', attributes: { title: 'Chief Everything Officer' } }, expect: { admin: 'ok', security: 403, hr: 'ok', manager: 403, owner: 404, user: 403 } },
  { method: 'GET', route: '/api/imports', url: '/api/imports', expect: only(['admin', 'hr', 'security']) },
  { method: 'POST', route: '/api/imports', url: '/api/imports', body: { source: 'hr', fileName: 'x.csv', content: 'a', dryRun: true }, expect: { ...only(['admin', 'hr']), admin: 404, hr: 404 } },
  { method: 'POST', route: '/api/imports/:id/release', url: '/api/imports/imp-1/release', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'GET', route: '/api/plans', url: '/api/plans', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'POST', route: '/api/plans', url: '/api/plans', body: {}, expect: { ...only(['admin']), admin: 404 } },
  { method: 'GET', route: '/api/plans/:id', url: '/api/plans/p-1', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'POST', route: '/api/plans/:id/approve', url: '/api/plans/p-1/approve', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'POST', route: '/api/plans/:id/apply', url: '/api/plans/p-1/apply', expect: { ...only(['admin']), admin: 404 } },
  { method: 'GET', route: '/api/plans/:id/progress', url: '/api/plans/p-1/progress', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'GET', route: '/api/approvals', url: '/api/approvals', expect: all('ok') },
  { method: 'GET', route: '/api/reviews', url: '/api/reviews', expect: only(['admin', 'security']) },
  // The fixture wires no review service: admin and security get through to a domain error.
  { method: 'POST', route: '/api/reviews', url: '/api/reviews', body: { review: 'none' }, expect: { ...only(['admin', 'security']), admin: 'any', security: 'any' } },
  { method: 'GET', route: '/api/reviews/inbox', url: '/api/reviews/inbox', expect: all('ok') },
  // Any reviewer may decide, but only in a campaign that exists and only their own items (the app refuses the rest).
  { method: 'POST', route: '/api/reviews/:id/decisions', url: '/api/reviews/rc-none/decisions', body: { itemIds: ['x'], decision: 'keep' }, expect: all(404) },
  { method: 'POST', route: '/api/reviews/:id/delegation', url: '/api/reviews/rc-none/delegation', body: { to: 'alice', itemIds: ['x'] }, expect: all(404) },
  { method: 'GET', route: '/api/reviews/:id/preview', url: '/api/reviews/rc-none/preview', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'POST', route: '/api/reviews/:id/close', url: '/api/reviews/rc-none/close', body: {}, expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'GET', route: '/api/reviews/:id/export', url: '/api/reviews/rc-none/export', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  // bob's request (team B), decided by mgr-b and the vpn owner: mgr-a may not; the vpn owner may; alice is not a decider;
  // an admin is not an approver either (no override of the approval route).
  { method: 'POST', route: '/api/approvals/:id/decision', url: '/api/approvals/req-bob/decision', body: { decision: 'approve' }, expect: { admin: 404, security: 404, hr: 404, manager: 404, owner: 'ok', user: 404 } },
  // Access for oneself: anyone linked to an identity (console users without one are refused).
  { method: 'POST', route: '/api/access-requests', url: '/api/access-requests', body: { system: 'vpn', entitlement: 'full', justification: 'on call' }, expect: { admin: 403, security: 403, hr: 403, manager: 'ok', owner: 'ok', user: 'ok' } },
  // For someone else: their manager (alice is mgr-a's report); bob is in no caller's team here. Console users without an identity are refused.
  { method: 'POST', route: '/api/access-requests', url: '/api/access-requests', body: { identityKey: 'alice', system: 'vpn', entitlement: 'full', justification: 'on call' }, expect: { admin: 403, security: 403, hr: 403, manager: 'ok', owner: 404, user: 'ok' } },
  { method: 'POST', route: '/api/access-requests', url: '/api/access-requests', body: { identityKey: 'bob', system: 'vpn', entitlement: 'full', justification: 'on call' }, expect: { admin: 403, security: 403, hr: 403, manager: 404, owner: 404, user: 404 } },
  // An SoD mitigation: filed like a request (oneself, or a report by their manager); the app then judges the rule and control.
  { method: 'POST', route: '/api/sod-mitigations', url: '/api/sod-mitigations', body: { system: 'vpn', entitlement: 'full', justification: 'month end', durationDays: 14, control: 'dual-review', controlOwner: 'mgr-a' }, expect: { admin: 403, security: 403, hr: 403, manager: 'ok', owner: 'ok', user: 'ok' } },
  { method: 'POST', route: '/api/sod-mitigations', url: '/api/sod-mitigations', body: { identityKey: 'bob', system: 'vpn', entitlement: 'full', justification: 'month end', durationDays: 14, control: 'dual-review', controlOwner: 'mgr-a' }, expect: { admin: 403, security: 403, hr: 403, manager: 404, owner: 404, user: 404 } },
  { method: 'GET', route: '/api/tasks', url: '/api/tasks', expect: all('ok') },
  { method: 'POST', route: '/api/tasks/:id/complete', url: '/api/tasks/task-none/complete', body: { note: 'done' }, expect: all(404) },
  { method: 'POST', route: '/api/tasks/:id/initial-password', url: '/api/tasks/task-none/initial-password', expect: all(404) },
  { method: 'GET', route: '/api/me', url: '/api/me', expect: all('ok') },
  { method: 'GET', route: '/api/inbox', url: '/api/inbox', expect: all('ok') },
  { method: 'GET', route: '/api/systems', url: '/api/systems', expect: only(['admin', 'security']) },
  // No connector service in this fixture, and no system named so: 404 for the admin.
  { method: 'POST', route: '/api/systems/:name/test', url: '/api/systems/sys-none/test', expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/systems/:name/release', url: '/api/systems/sys-none/release', expect: { ...only(['admin']), admin: 404 } },
  { method: 'GET', route: '/api/findings', url: '/api/findings?state=open', expect: only(['admin', 'security']) },
  { method: 'POST', route: '/api/findings/:id/resolve', url: '/api/findings/finding-none/resolve', body: { note: 'handled by hand' }, expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'GET', route: '/api/exceptions', url: '/api/exceptions', expect: only(['admin', 'security']) },
  { method: 'POST', route: '/api/exceptions/:id/review', url: '/api/exceptions/exc-none/review', body: {}, expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'GET', route: '/api/audit/verify', url: '/api/audit/verify', expect: only(['admin', 'security']) },
  // No evidence port in this fixture (503 for those let through); test/api/evidence-packs.test.ts builds real packs.
  { method: 'POST', route: '/api/evidence-packs', url: '/api/evidence-packs', body: { framework: 'soc2', from: '2026-01-01', to: '2026-12-31' }, expect: { ...only(['admin', 'security']), admin: 'any', security: 'any' } },
  { method: 'GET', route: '/api/measures', url: '/api/measures?weeks=4', expect: only(['admin', 'security']) },
  // Sign-in methods are each user's own: anyone signed in manages theirs. Wrong codes and unknown challenges are refused for all.
  { method: 'GET', route: '/api/me/mfa', url: '/api/me/mfa', expect: all('ok') },
  { method: 'POST', route: '/api/me/passkeys/options', url: '/api/me/passkeys/options', expect: all('any') },
  { method: 'POST', route: '/api/me/passkeys', url: '/api/me/passkeys', body: { challengeId: 'wac-none', response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }, expect: all('any') },
  { method: 'DELETE', route: '/api/me/passkeys/:id', url: '/api/me/passkeys/pk-none', expect: all(404) },
  { method: 'POST', route: '/api/me/totp', url: '/api/me/totp', expect: all('any') },
  { method: 'POST', route: '/api/me/totp/confirm', url: '/api/me/totp/confirm', body: { code: '000000' }, expect: all('any') },
  { method: 'DELETE', route: '/api/me/totp', url: '/api/me/totp', expect: all('any') },
  { method: 'POST', route: '/api/me/recovery-codes', url: '/api/me/recovery-codes', expect: all('any') },
  { method: 'POST', route: '/api/auth/mfa/passkey/options', url: '/api/auth/mfa/passkey/options', expect: all('any') },
  { method: 'POST', route: '/api/auth/mfa/passkey', url: '/api/auth/mfa/passkey', body: { challengeId: 'wac-none', response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }, expect: all('any') },
  { method: 'POST', route: '/api/auth/mfa/totp', url: '/api/auth/mfa/totp', body: { code: '000000' }, expect: all('any') },
  { method: 'POST', route: '/api/auth/mfa/recovery-code', url: '/api/auth/mfa/recovery-code', body: { code: 'AAAAA-AAAAA' }, expect: all('any') },
  { method: 'GET', route: '/api/mfa-resets', url: '/api/mfa-resets', expect: only(['admin']) },
  // Equipment: IT (admin) runs the register, security reads it; a person sees only what they hold (no asset here: 404 for all who get that far).
  { method: 'GET', route: '/api/assets', url: '/api/assets?status=assigned', expect: only(['admin', 'security']) },
  { method: 'GET', route: '/api/assets/audits-due', url: '/api/assets/audits-due', expect: only(['admin', 'security']) },
  { method: 'GET', route: '/api/assets/export', url: '/api/assets/export', expect: only(['admin', 'security']) },
  { method: 'GET', route: '/api/asset-categories', url: '/api/asset-categories', expect: only(['admin', 'security']) },
  { method: 'POST', route: '/api/asset-categories/:category/cadence', url: '/api/asset-categories/matrix-kind/cadence', body: { everyDays: 90 }, expect: only(['admin']) },
  { method: 'POST', route: '/api/assets/:tag/audit', url: '/api/assets/LAP-none/audit', body: {}, expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/assets/import', url: '/api/assets/import', body: { fileName: 'x.csv', content: 'Asset Tag\n' }, expect: { ...only(['admin']), admin: 'any' } },
  { method: 'GET', route: '/api/assets/:tag', url: '/api/assets/LAP-none', expect: all(404) },
  { method: 'POST', route: '/api/assets/:tag/check-out', url: '/api/assets/LAP-none/check-out', body: { to: 'alice' }, expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/assets/:tag/check-in', url: '/api/assets/LAP-none/check-in', body: {}, expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/assets/:tag/accept', url: '/api/assets/LAP-none/accept', expect: all(404) },
  { method: 'POST', route: '/api/assets/:tag/report', url: '/api/assets/LAP-none/report', body: { status: 'lost' }, expect: all(404) },
  { method: 'GET', route: '/api/assets/:tag/lost-report', url: '/api/assets/LAP-none/lost-report', expect: all(404) },
  { method: 'GET', route: '/api/me/assets', url: '/api/me/assets', expect: all('ok') },
  { method: 'GET', route: '/api/licences', url: '/api/licences', expect: only(['admin', 'security']) },
  { method: 'POST', route: '/api/licences', url: '/api/licences', body: { name: 'matrix-licence', seats: 1 }, expect: only(['admin']) },
  { method: 'GET', route: '/api/licences/:name', url: '/api/licences/lic-none', expect: { ...only(['admin', 'security']), admin: 404, security: 404 } },
  { method: 'POST', route: '/api/licences/:name/seats', url: '/api/licences/lic-none/seats', body: { identityKey: 'alice', system: 'vpn', accountId: 'vpn-alice' }, expect: { ...only(['admin']), admin: 404 } },
  { method: 'POST', route: '/api/licences/:name/seats/:id/reclaim', url: '/api/licences/lic-none/seats/seat-none/reclaim', body: { reason: 'unused' }, expect: { ...only(['admin']), admin: 404 } },
  // The monthly check: IT opens it; IT, security and HR follow completion; each person answers only their own items.
  { method: 'POST', route: '/api/attestations', url: '/api/attestations', body: { period: '2026-12' }, expect: only(['admin']) },
  { method: 'GET', route: '/api/attestations/due', url: '/api/attestations/due', expect: only(['admin', 'security', 'hr']) },
  { method: 'GET', route: '/api/attestations/:id/completion', url: '/api/attestations/chk-none/completion', expect: { ...only(['admin', 'security', 'hr']), admin: 404, security: 404, hr: 404 } },
  { method: 'GET', route: '/api/me/attestations', url: '/api/me/attestations', expect: all('ok') },
  { method: 'POST', route: '/api/me/attestations/:id/answer', url: '/api/me/attestations/att-none/answer', body: { answer: 'confirmed' }, expect: all(404) },
  { method: 'POST', route: '/api/mfa-resets/:id/confirm', url: '/api/mfa-resets/mfr-none/confirm', expect: { ...only(['admin']), admin: 404 } },
];

for (const backend of testBackends()) {
  describe(`authorization matrix (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      api = await startApi(store);
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('every authenticated route has a row in the matrix', () => {
      const covered = new Set(CASES.map((c) => `${c.method} ${c.route}`));
      const missing = api.app.routes.filter((r) => r.access !== 'public' && !covered.has(`${r.method} ${r.url}`)).map((r) => `${r.method} ${r.url}`);
      assert.deepEqual(missing, []);
    });

    test('every route refuses a caller who is not signed in', async () => {
      for (const c of CASES) {
        const res = await api.app.inject({ method: c.method as 'GET', url: c.url, ...(c.body ? { payload: c.body } : {}) });
        assert.equal(res.statusCode, 401, `${c.method} ${c.url}`);
      }
    });

    for (const role of ROLE_USERS) {
      test(`the ${role} role gets exactly its rows of the matrix, and each refusal is audited`, async () => {
        for (const c of CASES) {
          if (c.route === '/api/auth/sign-out') continue;
          api.approvals.items.set('req-bob', { id: 'req-bob', kind: 'access_request', identityKey: 'bob', summary: 'vpn:full', requestedBy: 'bob', requestedAt: new Date().toISOString(), system: 'vpn', stage: 'manager', approvers: ['mgr-b', 'own-1'], state: 'pending' });
          const session = api.sessions[role];
          const auditBefore = await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'access.denied').execute();
          const res = await api.app.inject({ method: c.method as 'GET', url: c.url, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, ...(c.body ? { payload: c.body } : {}) });
          const expected = c.expect[role];
          const label = `${role} ${c.method} ${c.url} → ${res.statusCode} ${res.body.slice(0, 160)}`;
          if (expected === 'any') continue;
          if (expected === 'ok') {
            assert.ok(res.statusCode < 400, label);
            continue;
          }
          assert.equal(res.statusCode, expected, label);
          const body = res.json() as { error: { requestId: string; code: string } };
          assert.ok(body.error.requestId, 'errors carry the request id');
          assert.ok(!res.body.includes('    at '), 'no stack trace reaches the client');
          const notFoundByAbsence = c.url.includes('none') || c.url.includes('p-1') || c.url.includes('imp-1') || c.route.startsWith('/api/imports') || c.route.startsWith('/api/plans');
          if (!notFoundByAbsence || expected === 403) {
            const auditAfter = await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'access.denied').execute();
            assert.equal(auditAfter.length, auditBefore.length + 1, `${label}: an audit entry records the refusal`);
          }
        }
      });
    }

    test('a change without the CSRF token is refused even with a valid session', async () => {
      const res = await api.app.inject({ method: 'PATCH', url: '/api/people/alice', headers: { cookie: api.sessions.user.cookie }, payload: { attributes: { phone: '1' } } });
      assert.equal(res.statusCode, 403);
    });

    test('a leaver’s session and API token stop working at once when the status changes through the API, and within a second when it changes elsewhere', async () => {
      const { signIn } = await import('./api-fixture.ts');
      const { createUser } = await import('../../src/api/auth/user-store.ts');
      await createUser(store.db, { username: 'bob', password: 'correct horse battery staple', identityKey: 'bob' }, 'test');
      const session = await signIn(api.app, 'bob');
      const created = await api.app.inject({ method: 'POST', url: '/api/me/tokens', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { name: 'laptop', scopes: ['read'] } });
      const token = (created.json() as { token: string }).token;
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      const admin = { cookie: api.sessions.admin.cookie, 'x-csrf-token': api.sessions.admin.csrf };
      assert.equal((await api.app.inject({ method: 'PATCH', url: '/api/people/bob', headers: admin, payload: { status: 'left' } })).statusCode, 200);
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: session.cookie } })).statusCode, 401, 'the session is refused on the very next request');
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, 'so is the token');
      await store.db.updateTable('identities').set({ status: 'active' }).where('key', '=', 'bob').execute();
      await new Promise((r) => setTimeout(r, PRINCIPAL_TTL_MS + 50));
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      // An HR import writes the status itself: the cached principal lapses within its TTL.
      await store.db.updateTable('identities').set({ status: 'left' }).where('key', '=', 'bob').execute();
      await new Promise((r) => setTimeout(r, PRINCIPAL_TTL_MS + 50));
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: session.cookie } })).statusCode, 401);
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
      await store.db.updateTable('identities').set({ status: 'active' }).where('key', '=', 'bob').execute();
    });

    test('a read-only API token cannot change anything', async () => {
      const created = await api.app.inject({ method: 'POST', url: '/api/me/tokens', headers: { cookie: api.sessions.admin.cookie, 'x-csrf-token': api.sessions.admin.csrf }, payload: { name: 'ro', scopes: ['read'] } });
      const token = (created.json() as { token: string }).token;
      assert.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      const res = await api.app.inject({ method: 'POST', url: '/api/users', headers: { authorization: `Bearer ${token}` }, payload: { username: 'via-token', password: 'a-long-password-1' } });
      assert.equal(res.statusCode, 403);
    });
  });
}

/**
 * Inbound SCIM (/scim/v2): a door of its own. Every route × every kind of
 * credential: a write token of the source, a read token, a token of another
 * source, a revoked one, none, a console session and a console API token.
 * Writes run as dry runs, so each row can be tried by every caller without
 * changing what the next one sees. A SCIM route added without a row fails the
 * coverage test; one that lost its token check or its scope check fails its row.
 */
type ScimCaller = 'write' | 'read' | 'otherSource' | 'revoked' | 'none' | 'session' | 'apiToken';
interface ScimCase {
  readonly method: string;
  readonly route: string;
  readonly url: string;
  readonly body?: unknown;
  /** The scope the route needs. */
  readonly scope: 'scim:read' | 'scim:write';
  /** Whether the URL names a resource of the first source (another source's token then gets 404). */
  readonly names?: true;
}

const SCIM_USER = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], externalId: 'M1', userName: 'm1@example.test', name: { givenName: 'Mat', familyName: 'Rix' } };
const SCIM_BULK = { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [{ method: 'POST', bulkId: 'm2', path: '/Users', data: { ...SCIM_USER, externalId: 'M2', userName: 'm2@example.test' } }] };
const SCIM_PATCH = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] };

function scimCases(batchId: string): readonly ScimCase[] {
  return [
    { method: 'GET', route: '/ServiceProviderConfig', url: '/ServiceProviderConfig', scope: 'scim:read' },
    { method: 'GET', route: '/ResourceTypes', url: '/ResourceTypes', scope: 'scim:read' },
    { method: 'GET', route: '/ResourceTypes/User', url: '/ResourceTypes/User', scope: 'scim:read' },
    { method: 'GET', route: '/Schemas', url: '/Schemas', scope: 'scim:read' },
    { method: 'GET', route: '/Schemas/:id', url: '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User', scope: 'scim:read' },
    { method: 'GET', route: '/Users', url: '/Users?filter=userName%20sw%20%22m%22', scope: 'scim:read' },
    { method: 'POST', route: '/Users/.search', url: '/Users/.search', body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'externalId eq "M1"' }, scope: 'scim:read' },
    { method: 'GET', route: '/Users/:id', url: '/Users/M1', scope: 'scim:read', names: true },
    { method: 'POST', route: '/Users', url: '/Users?dryRun=true', body: { ...SCIM_USER, externalId: 'M3', userName: 'm3@example.test' }, scope: 'scim:write' },
    { method: 'PUT', route: '/Users/:id', url: '/Users/M1?dryRun=true', body: { ...SCIM_USER, title: 'Lead' }, scope: 'scim:write', names: true },
    { method: 'PATCH', route: '/Users/:id', url: '/Users/M1?dryRun=true', body: SCIM_PATCH, scope: 'scim:write', names: true },
    { method: 'DELETE', route: '/Users/:id', url: '/Users/M1?dryRun=true', scope: 'scim:write', names: true },
    { method: 'POST', route: '/Bulk', url: '/Bulk?dryRun=true', body: SCIM_BULK, scope: 'scim:write' },
    { method: 'POST', route: '/bulkUpload', url: '/bulkUpload?dryRun=true', body: SCIM_BULK, scope: 'scim:write' },
    { method: 'GET', route: '/jml/batches/:id', url: `/jml/batches/${batchId}`, scope: 'scim:read', names: true },
  ];
}

/** What each caller gets on a row: `ok` is any status below 400. */
function scimExpected(c: ScimCase, caller: ScimCaller): 'ok' | 401 | 403 | 404 {
  if (caller === 'none' || caller === 'revoked' || caller === 'session' || caller === 'apiToken') return 401;
  if (caller === 'read') return c.scope === 'scim:read' ? 'ok' : 403;
  if (caller === 'otherSource') return c.names ? 404 : 'ok';
  return 'ok';
}

for (const backend of testBackends()) {
  describe(`authorization matrix of inbound SCIM (${backend.name})`, () => {
    let store: Store;
    let scim: ScimEndpoint;
    let cases: readonly ScimCase[];
    const headers: Partial<Record<ScimCaller, Record<string, string>>> = {};
    before(async () => {
      store = await backend.open();
      scim = await startScimEndpoint({ store, sources: { entra: {}, okta: {} }, config: { mass_change: { minimum: 1000, percent: 100 } } });
      const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' });
      headers.write = bearer(scim.token);
      headers.read = bearer(scim.readToken);
      headers.otherSource = bearer(await scim.issueToken('okta', 'okta-writer'));
      const revoked = await scim.issueToken('entra', 'retired');
      await revokeScimToken(store.db, 'entra', 'retired', 'test', new Date());
      headers.revoked = bearer(revoked);
      headers.none = { 'content-type': 'application/scim+json' };
      await createUser(store.db, { username: 'scim-matrix', password: PASSWORD, identityKey: null }, 'test');
      const session = await signIn(scim.app, 'scim-matrix');
      headers.session = { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/scim+json' };
      const created = await scim.app.inject({ method: 'POST', url: '/api/me/tokens', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { name: 'scripts', scopes: ['read', 'write'] } });
      assert.equal(created.statusCode, 201, created.body);
      headers.apiToken = bearer((created.json() as { token: string }).token);
      const user = await scim.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: headers.write, payload: JSON.stringify(SCIM_USER) });
      assert.equal(user.statusCode, 201, user.body);
      const bulk = await scim.app.inject({ method: 'POST', url: '/scim/v2/Bulk', headers: headers.write, payload: JSON.stringify({ ...SCIM_BULK, Operations: [] }) });
      cases = scimCases(String(bulk.headers['jml-batch']).split('/').pop()!);
    });
    after(async () => {
      await scim.close();
      await store.close();
    });

    test('every SCIM route has a row in the matrix, with the scope its declaration names', () => {
      const rows = new Map(scimCases('b').map((c) => [`${c.method} ${c.route}`, c.scope]));
      const declared = scim.app.scimRoutes;
      assert.deepEqual(declared.filter((r) => rows.get(`${r.method} ${r.url}`) !== r.scope).map((r) => `${r.method} ${r.url}`), []);
      assert.equal(declared.length, rows.size);
    });

    for (const caller of ['write', 'read', 'otherSource', 'revoked', 'none', 'session', 'apiToken'] as const) {
      test(`on /scim/v2 a caller with ${caller === 'write' ? 'a write token of the source' : caller === 'read' ? 'a read token' : caller === 'otherSource' ? 'a token of another source' : caller === 'revoked' ? 'a revoked token' : caller === 'none' ? 'no credentials' : caller === 'session' ? 'a console session' : 'a console API token'} gets exactly its row of the matrix, in SCIM's error schema`, async () => {
        for (const c of cases) {
          const res = await scim.app.inject({ method: c.method as 'GET', url: `/scim/v2${c.url}`, headers: headers[caller]!, ...(c.body ? { payload: JSON.stringify(c.body) } : {}) });
          const expected = scimExpected(c, caller);
          const label = `${caller} ${c.method} ${c.url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
          if (expected === 'ok') {
            assert.ok(res.statusCode < 400, label);
            continue;
          }
          assert.equal(res.statusCode, expected, label);
          const body = res.json() as { schemas: string[]; status: string };
          assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error'], label);
          assert.equal(body.status, String(expected), label);
          if (expected === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer/, label);
        }
      });
    }

    test('a SCIM token opens no route of the API: every authenticated /api/ route answers 401 to it', async () => {
      const routes = scim.app.routes.filter((r) => r.access !== 'public');
      assert.ok(routes.length > 50);
      for (const route of routes) {
        const url = route.url.replace(/:([A-Za-z_]+)/g, 'x');
        const res = await scim.app.inject({ method: route.method, url, headers: { authorization: `Bearer ${scim.token}` }, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }) });
        assert.equal(res.statusCode, 401, `${route.method} ${url} → ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    });
  });
}
