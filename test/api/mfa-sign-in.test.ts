/**
 * Multi-factor sign-in through the API on both backends: enrolment forced on
 * an admin, TOTP with computed codes (a replay refused), recovery codes used
 * once, step-up before applying a plan, code attempts on the sign-in limiter,
 * the audit trail, and `reset-mfa` with a second admin's confirmation.
 * Passkeys need a browser: test/browser/mfa-sign-in.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { ImportOutcome, ImportPort, PlanPort, PlanView } from '../../src/api/api-deps.ts';
import { DEFAULT_MFA_POLICY } from '../../src/api/auth/mfa-policy.ts';
import { confirmMfaReset, requestMfaReset } from '../../src/api/auth/mfa-reset.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { createMemoryApprovals, seedOrganisation, signIn, startApi } from './api-fixture.ts';

type Api = Awaited<ReturnType<typeof startApi>>;
type Session = { cookie: string; csrf: string };

const code = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at, algorithm: 'SHA1', digits: 6, period: 30 });

function fakePlans(applied: string[]): PlanPort {
  const view = (id: string, status: string): PlanView => ({ id, status, computedAt: new Date(0).toISOString(), fingerprint: 'f', plan: { changes: [] } as never, changeStates: {}, approvedBy: 'sec' });
  return {
    preview: async () => view('p-1', 'awaiting_approval'),
    get: async (id) => view(id, 'approved'),
    list: async () => [],
    approve: async (id) => {
      applied.push(`approve:${id}`);
      return view(id, 'approved');
    },
    apply: async (id) => {
      applied.push(id);
      return view(id, 'applying');
    },
    progress: async () => { throw new Error('unused'); },
  };
}

function fakeImports(released: string[]): ImportPort {
  const outcome = (id: string): ImportOutcome => ({ id, source: 'hr', status: 'applied', dryRun: false, held: false, wouldBeHeld: false, rows: { total: 0, valid: 0, invalid: 0 }, events: [], errors: [], message: 'released' });
  return {
    importSource: async () => { throw new Error('unused'); },
    release: async (id) => {
      released.push(id);
      return outcome(id);
    },
  };
}

for (const backend of testBackends()) {
  describe(`multi-factor sign-in (${backend.name})`, () => {
    let store: Store;
    let api: Api;
    let clock = Date.now();
    const applied: string[] = [];
    const released: string[] = [];
    const systemsReleased: string[] = [];
    const approvals = createMemoryApprovals(() => new Date(clock));
    let totpSecret = '';
    let recoveryCodes: string[] = [];

    const call = (s: Session, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      api.app.inject({ method, url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    const audited = async (action: string) => (await store.db.selectFrom('audit_log').select('details').where('action', '=', action).execute()).map((r) => r.details as Record<string, unknown>);

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      api = await startApi(store, { mfa: DEFAULT_MFA_POLICY, now: () => new Date(clock), signInLimit: 6, services: { plans: fakePlans(applied), imports: fakeImports(released), approvals, systems: { test: async () => { throw new Error('unused'); }, release: async (name) => { systemsReleased.push(name); return { resumed: 1 }; } } } });
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('an admin without a second factor is sent to enrolment after the password, and every other route refuses the session', async () => {
      const admin = api.sessions.admin;
      const session = await call(admin, 'GET', '/api/auth/session');
      assert.equal(session.statusCode, 200);
      assert.deepEqual((session.json() as { mfa: unknown }).mfa, { stage: 'enrol', required: true });
      for (const [method, url] of [['GET', '/api/users'], ['GET', '/api/people'], ['GET', '/api/me'], ['POST', '/api/plans/p-1/apply'], ['POST', '/api/me/tokens'], ['POST', '/api/auth/mfa/totp']] as const) {
        const res = await call(admin, method, url, method === 'POST' ? (url.endsWith('tokens') ? { name: 'x', scopes: ['read'] } : url.endsWith('totp') ? { code: '123456' } : {}) : undefined);
        assert.equal(res.statusCode, 403, `${method} ${url}`);
        assert.deepEqual((res.json() as { error: { details: unknown } }).error.details, { mfa: 'enrol' }, `${method} ${url}`);
      }
      assert.deepEqual(applied, []);
      // A user without a required role is not asked.
      assert.equal((await call(api.sessions.user, 'GET', '/api/people')).statusCode, 200);
    });

    test('an authenticator app is enrolled with a computed code: QR and secret once, the secret sealed at rest, ten recovery codes', async () => {
      const admin = api.sessions.admin;
      const setup = await call(admin, 'POST', '/api/me/totp');
      assert.equal(setup.statusCode, 200, setup.body);
      const body = setup.json() as { secret: string; uri: string; qrSvg: string };
      assert.match(body.qrSvg, /^<svg[^>]*>/);
      assert.match(body.uri, /^otpauth:\/\/totp\/jml:root\?/);
      totpSecret = body.secret;
      const row = await store.db.selectFrom('mfa_totp').selectAll().executeTakeFirstOrThrow();
      assert.ok(!Buffer.from(row.ciphertext).toString('latin1').includes(totpSecret) && !JSON.stringify(row).includes(totpSecret), 'the secret is not stored in clear');
      assert.equal((await call(admin, 'POST', '/api/me/totp/confirm', { code: '000000' })).statusCode, 403, 'a wrong code does not confirm');
      const confirmed = await call(admin, 'POST', '/api/me/totp/confirm', { code: code(totpSecret, clock) });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      recoveryCodes = (confirmed.json() as { recoveryCodes: string[] }).recoveryCodes;
      assert.equal(recoveryCodes.length, 10);
      assert.equal(new Set(recoveryCodes).size, 10);
      const stored = await store.db.selectFrom('mfa_recovery_codes').select('code_hash').execute();
      assert.ok(stored.every((s) => !recoveryCodes.some((c) => s.code_hash.includes(c))), 'recovery codes are stored hashed');
      assert.equal((await call(admin, 'GET', '/api/users')).statusCode, 200, 'the enrolling session is complete');
      assert.equal((await audited('mfa.totp_enrolled')).length, 1);
      assert.equal((await audited('mfa.verify_failed')).length, 1);
    });

    test('after the password an enrolled admin must give a code; a computed code is accepted and the same code replayed is refused', async () => {
      clock += 31_000;
      const first = await signIn(api.app, 'root');
      assert.equal((await call(first, 'GET', '/api/users')).statusCode, 403, 'the password alone is not enough');
      assert.equal((await call(first, 'POST', '/api/me/totp')).statusCode, 403, 'nor may it add a factor');
      const now = code(totpSecret, clock);
      const ok = await call(first, 'POST', '/api/auth/mfa/totp', { code: now });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((ok.json() as { mfa: { stage: string } }).mfa.stage, 'complete');
      assert.equal((await call(first, 'GET', '/api/users')).statusCode, 200);
      const second = await signIn(api.app, 'root');
      const replay = await call(second, 'POST', '/api/auth/mfa/totp', { code: now });
      assert.equal(replay.statusCode, 403, 'a code is accepted once');
      assert.equal((await call(second, 'GET', '/api/users')).statusCode, 403);
      // The previous step's code is inside the window but older than the accepted one: still a replay.
      assert.equal((await call(second, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock - 30_000) })).statusCode, 403);
      assert.ok((await audited('mfa.verify_failed')).some((d) => d.method === 'totp' && d.purpose === 'sign-in'));
    });

    test('a recovery code signs in once and is then used up', async () => {
      const session = await signIn(api.app, 'root');
      const used = await call(session, 'POST', '/api/auth/mfa/recovery-code', { code: recoveryCodes[0]!.toLowerCase() });
      assert.equal(used.statusCode, 200, used.body);
      const again = await signIn(api.app, 'root');
      assert.equal((await call(again, 'POST', '/api/auth/mfa/recovery-code', { code: recoveryCodes[0]! })).statusCode, 403);
      const status = await call(session, 'GET', '/api/me/mfa');
      assert.equal((status.json() as { recoveryCodesLeft: number }).recoveryCodesLeft, 9);
      assert.deepEqual((await audited('mfa.recovery_code_used')).map((d) => d.left), [9]);
    });

    test('applying a plan asks for the second factor again once the last one is older than the step-up window', async () => {
      clock += 60_000;
      const session = await signIn(api.app, 'root');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      assert.equal((await call(session, 'POST', '/api/plans/p-1/apply')).statusCode, 202, 'within the window');
      clock += DEFAULT_MFA_POLICY.stepUpMs + 60_000;
      const refused = await call(session, 'POST', '/api/plans/p-1/apply');
      assert.equal(refused.statusCode, 403);
      assert.deepEqual((refused.json() as { error: { details: unknown } }).error.details, { stepUp: true });
      assert.deepEqual(applied, ['p-1'], 'the refused apply did not run');
      assert.equal((await call(session, 'GET', '/api/plans/p-1')).statusCode, 200, 'reading needs no step-up');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      assert.equal((await call(session, 'POST', '/api/plans/p-1/apply')).statusCode, 202);
      assert.deepEqual(applied, ['p-1', 'p-1']);
      assert.ok((await audited('access.denied')).some((d) => d.stepUp === true));
    });

    test('approving a plan asks for the second factor again too, and a refused approval approves nothing', async () => {
      clock += 60_000;
      const session = await signIn(api.app, 'root');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      clock += DEFAULT_MFA_POLICY.stepUpMs + 60_000;
      const before = applied.length;
      const refused = await call(session, 'POST', '/api/plans/p-2/approve');
      assert.equal(refused.statusCode, 403);
      assert.deepEqual((refused.json() as { error: { details: unknown } }).error.details, { stepUp: true });
      assert.equal(applied.length, before, 'nothing was approved');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      assert.equal((await call(session, 'POST', '/api/plans/p-2/approve')).statusCode, 200);
      assert.deepEqual(applied.slice(before), ['approve:p-2']);
    });

    test('releasing a held import and creating a user ask for the step-up too; the last factor of a required user cannot be removed', async () => {
      clock += 60_000;
      const session = await signIn(api.app, 'root');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      clock += DEFAULT_MFA_POLICY.stepUpMs + 1_000;
      const release = await call(session, 'POST', '/api/imports/imp-1/release');
      assert.equal(release.statusCode, 403);
      assert.deepEqual((release.json() as { error: { details: unknown } }).error.details, { stepUp: true });
      const create = await call(session, 'POST', '/api/users', { username: 'new-admin', password: 'a-long-password-1', roles: ['admin'] });
      assert.equal(create.statusCode, 403);
      assert.deepEqual((create.json() as { error: { details: unknown } }).error.details, { stepUp: true });
      assert.deepEqual(released, []);
      assert.equal(await store.db.selectFrom('console_users').select('id').where('username', '=', 'new-admin').executeTakeFirst(), undefined);
      assert.equal((await call(session, 'POST', '/api/auth/mfa/recovery-code', { code: recoveryCodes[1]! })).statusCode, 200);
      assert.equal((await call(session, 'POST', '/api/imports/imp-1/release')).statusCode, 200);
      assert.deepEqual(released, ['imp-1']);
      const last = await call(session, 'DELETE', '/api/me/totp');
      assert.equal(last.statusCode, 409, 'an admin keeps at least one factor');
      assert.ok(await store.db.selectFrom('mfa_totp').select('user_id').executeTakeFirst());
    });

    test('releasing a quarantined system, resolving a finding and reviewing an exception ask for the step-up too, and do nothing until it is given', async () => {
      clock += 60_000;
      const session = await signIn(api.app, 'root');
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      clock += DEFAULT_MFA_POLICY.stepUpMs + 1_000;
      for (const [url, payload] of [['/api/systems/ldap/release', {}], ['/api/findings/f-1/resolve', { note: 'handled by hand' }], ['/api/exceptions/x-1/review', {}]] as const) {
        const refused = await call(session, 'POST', url, payload);
        assert.equal(refused.statusCode, 403, `${url}: ${refused.body}`);
        assert.deepEqual((refused.json() as { error: { details: unknown } }).error.details, { stepUp: true }, url);
      }
      assert.deepEqual(systemsReleased, []);
      assert.equal((await call(session, 'POST', '/api/auth/mfa/totp', { code: code(totpSecret, clock) })).statusCode, 200);
      assert.equal((await call(session, 'POST', '/api/systems/ldap/release')).statusCode, 200);
      assert.deepEqual(systemsReleased, ['ldap']);
    });

    test('a manager with an authenticator app approves access only with a recent factor; rejecting needs none', async () => {
      const manager = api.sessions.manager;
      const secret = ((await call(manager, 'POST', '/api/me/totp')).json() as { secret: string }).secret;
      assert.equal((await call(manager, 'POST', '/api/me/totp/confirm', { code: code(secret, clock) })).statusCode, 200, 'anyone may enrol voluntarily');
      const first = await approvals.requestAccess({ identityKey: 'alice', system: 'vpn', entitlement: 'full', justification: 'on call', requester: 'alice' });
      const second = await approvals.requestAccess({ identityKey: 'alice', system: 'vpn', entitlement: 'admin', justification: 'on call', requester: 'alice' });
      clock += DEFAULT_MFA_POLICY.stepUpMs + 60_000;
      const refused = await call(manager, 'POST', `/api/approvals/${first.id}/decision`, { decision: 'approve' });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual((refused.json() as { error: { details: unknown } }).error.details, { stepUp: true });
      assert.equal(approvals.items.get(first.id)!.state, 'pending');
      assert.equal((await call(manager, 'POST', `/api/approvals/${second.id}/decision`, { decision: 'reject' })).statusCode, 200);
      assert.equal((await call(manager, 'POST', '/api/auth/mfa/totp', { code: code(secret, clock) })).statusCode, 200);
      assert.equal((await call(manager, 'POST', `/api/approvals/${first.id}/decision`, { decision: 'approve' })).statusCode, 200);
      assert.equal(approvals.items.get(first.id)!.state, 'approved');
    });

    test('wrong codes count on the sign-in limiter: past the limit even the right password is refused', async () => {
      await createUser(store.db, { username: 'guessed', password: 'correct horse battery staple', roles: ['hr'] }, 'test');
      const s = await signIn(api.app, 'guessed');
      const setup = (await call(s, 'POST', '/api/me/totp')).json() as { secret: string };
      assert.equal((await call(s, 'POST', '/api/me/totp/confirm', { code: code(setup.secret, clock) })).statusCode, 200);
      const half = await signIn(api.app, 'guessed');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await call(half, 'POST', '/api/auth/mfa/totp', { code: '000000' })).statusCode);
      assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403, 429]);
      const password = await api.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username: 'guessed', password: 'correct horse battery staple' } });
      assert.equal(password.statusCode, 429);
    });

    test('reset-mfa with two admins waits for the other admin, who alone may confirm it; then the user enrols again', async () => {
      await createUser(store.db, { username: 'root2', password: 'correct horse battery staple', roles: ['admin'] }, 'test');
      const pending = await requestMfaReset(store.db, 'root', 'cli:operator', 'cli', new Date(clock));
      assert.equal(pending.status, 'pending');
      if (pending.status !== 'pending') return;
      await assert.rejects(confirmMfaReset(store.db, pending.id, { userId: (await store.db.selectFrom('console_users').select('id').where('username', '=', 'root').executeTakeFirstOrThrow()).id, actor: 'user:root' }, 'test', new Date(clock)), /another admin/);
      assert.ok(await store.db.selectFrom('mfa_totp').select('user_id').executeTakeFirst(), 'nothing is reset before the confirmation');
      // The second admin enrols (policy), then confirms in the console with a fresh factor.
      const other = await signIn(api.app, 'root2');
      const secret = ((await call(other, 'POST', '/api/me/totp')).json() as { secret: string }).secret;
      assert.equal((await call(other, 'POST', '/api/me/totp/confirm', { code: code(secret, clock) })).statusCode, 200);
      assert.deepEqual(((await call(other, 'GET', '/api/mfa-resets')).json() as { items: { id: string }[] }).items.map((i) => i.id), [pending.id]);
      const confirmed = await call(other, 'POST', `/api/mfa-resets/${pending.id}/confirm`);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      const root = await signIn(api.app, 'root');
      assert.deepEqual(((await call(root, 'GET', '/api/auth/session')).json() as { mfa: unknown }).mfa, { stage: 'enrol', required: true });
      assert.equal((await audited('mfa.reset')).length, 1);
      assert.equal((await audited('mfa.reset_requested')).length, 1);
    });

    test('reset-mfa with a single admin resets at once, audited', async () => {
      await store.db.updateTable('console_users').set({ status: 'disabled' }).where('username', '=', 'root2').execute();
      const done = await requestMfaReset(store.db, 'guessed', 'cli:operator', 'cli', new Date(clock));
      assert.deepEqual(done, { status: 'done', username: 'guessed' });
      assert.equal((await audited('mfa.reset')).length, 2);
    });
  });
}
