/**
 * The identity page on the demo organisation: desired versus actual access
 * from the engine's explain (with reasons), accounts per system as the latest
 * reconcile saw them, credentials, owned identities and the timeline.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { loadDemo } from '../../src/app/load-demo.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { PASSWORD, PASSWORD_ONLY, signIn } from './api-fixture.ts';

interface Page {
  identity: { key: string };
  access: { entitlements: { system: string; entitlement: string; state: string; because: string[] }[]; accounts: { system: string; name: string; grants: string[] }[] };
  credentials: { name: string }[];
  owned: { key: string; relation: string }[];
  timeline: { type: string }[];
}

const backend = testBackends()[0]!;

test('the identity page shows each entitlement as held, missing or not desired, with the rule behind it, and the accounts, credentials and owned identities', async () => {
  const store = await backend.open();
  const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
  try {
    await loadDemo({ db: store.db, config }, { actor: 'demo' });
    await createUser(store.db, { username: 'root', password: PASSWORD, roles: ['admin'] }, 'test');
    const now = () => new Date();
    const app = await buildApiServer({ db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: createConsoleServices({ db: store.db, backend: store.backend, config, now }), metrics: createApiMetrics(), webDir: null, oidc: null, mfa: PASSWORD_ONLY });
    const { cookie } = await signIn(app, 'root');
    const page = async (key: string) => (await app.inject({ method: 'GET', url: `/api/people/${key}`, headers: { cookie } })).json() as Page;

    const before = await page('E1002');
    assert.ok(before.access.entitlements.length > 0, 'birthright access is desired');
    assert.ok(before.access.entitlements.every((e) => e.state === 'missing' && e.because.some((b) => b.startsWith('rule '))), 'nothing is held before any reconcile');
    assert.deepEqual(before.access.accounts, []);
    assert.ok(before.timeline.some((e) => e.type === 'joiner'));
    const owned = before.owned.filter((o) => o.relation === 'owner');
    assert.ok(owned.length > 0, 'E1002 owns a non-human identity in the demo');
    assert.ok((await page(owned[0]!.key)).credentials.length > 0, 'the owned identity has credentials');

    // What a reconcile of one system would have recorded: E1002's account holds one desired entitlement and one nobody gave.
    const held = before.access.entitlements[0]!;
    const at = new Date().toISOString();
    await store.db.insertInto('reconcile_runs').values({ id: 'run-1', system: held.system, status: 'completed', phase: 'done', actor: 'test', started_at: at, updated_at: at, finished_at: at } as never).execute();
    await store.db.insertInto('observed_accounts').values({ run_id: 'run-1', system: held.system, account_id: 'acct-e1002', name: 'e1002', enabled: true, attributes: '{}', identity_key: 'E1002', situation: 'linked' } as never).execute();
    await store.db.insertInto('observed_grants').values([{ run_id: 'run-1', system: held.system, account_id: 'acct-e1002', entitlement: held.entitlement }, { run_id: 'run-1', system: held.system, account_id: 'acct-e1002', entitlement: 'rogue-admins' }]).execute();

    const after = await page('E1002');
    const state = (system: string, entitlement: string) => after.access.entitlements.find((e) => e.system === system && e.entitlement === entitlement)?.state;
    assert.equal(state(held.system, held.entitlement), 'ok');
    assert.equal(state(held.system, 'rogue-admins'), 'not_desired');
    assert.deepEqual(after.access.accounts.map((a) => [a.system, a.name, [...a.grants].sort()]), [[held.system, 'e1002', [held.entitlement, 'rogue-admins'].sort()]]);
    await app.close();
  } finally {
    await store.close();
  }
});

test('while the policy cannot be loaded, an unknown identity is still refused as not found and the refusal audited; a known one fails on its access', async () => {
  const store = await backend.open();
  const config = { ...testConfig(), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
  try {
    await loadDemo({ db: store.db, config }, { actor: 'demo' });
    await createUser(store.db, { username: 'root', password: PASSWORD, roles: ['admin'] }, 'test');
    const now = () => new Date();
    const broken = { ...config, policy_dir: path.join(tempDir(), 'no-policy-here') };
    const app = await buildApiServer({ db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: createConsoleServices({ db: store.db, backend: store.backend, config: broken, now }), metrics: createApiMetrics(), webDir: null, oidc: null, mfa: PASSWORD_ONLY });
    const { cookie } = await signIn(app, 'root');
    const view = (key: string) => app.inject({ method: 'GET', url: `/api/people/${key}`, headers: { cookie } });

    assert.equal((await view('NOBODY')).statusCode, 404);
    const denied = await store.db.selectFrom('audit_log').select(['subject', 'details']).where('action', '=', 'access.denied').execute();
    assert.deepEqual(denied.map((d) => [d.subject, (d.details as { reason: string }).reason]), [['NOBODY', 'no such identity']]);
    const known = await view('E1002');
    assert.equal(known.statusCode, 400);
    assert.match((known.json() as { error: { message: string } }).error.message, /cannot read policy directory/);
    await app.close();
  } finally {
    await store.close();
  }
});
