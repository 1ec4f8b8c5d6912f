/**
 * Four-eyes on plans: with it on (configured, or by default with a PostgreSQL
 * server), the person who computed a plan may not approve it — 403, audited —
 * and someone else may. On the embedded database it is off unless configured
 * (test/api/console-state.test.ts approves its own plan that way).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { fourEyesOnPlans } from '../../src/app/config.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../support/jml-fixture.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

test('four-eyes on plans is on by default with a PostgreSQL server, off on the embedded database, and a setting overrides both', () => {
  const config = (extra: Record<string, unknown>) => ({ ...testConfig(), ...extra });
  assert.equal(fourEyesOnPlans(config({})), false);
  assert.equal(fourEyesOnPlans(config({ database_url: 'postgres://jml@db.example.test/jml' })), true);
  assert.equal(fourEyesOnPlans(config({ database_url: 'postgres://jml@db.example.test/jml', four_eyes: { plans: false } })), false);
  assert.equal(fourEyesOnPlans(config({ four_eyes: { plans: true } })), true);
});

for (const backend of testBackends()) {
  describe(`four-eyes on plans (${backend.name})`, () => {
    let store: Store;
    const policy_dir = writePolicyDir(FAKE_WIKI_POLICY);
    const apis: Awaited<ReturnType<typeof startApi>>[] = [];
    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
    });
    after(async () => {
      for (const api of apis) await api.app.close();
      await store.close();
    });

    async function apiWith(extra: Record<string, unknown>) {
      const config = { ...testConfig(), data_dir: tempDir(), policy_dir, ...extra };
      const now = () => new Date();
      const api = await startApi(store, { services: createConsoleServices({ db: store.db, backend: store.backend, config, now }) });
      apis.push(api);
      return api;
    }

    const call = async (api: Awaited<ReturnType<typeof startApi>>, who: 'admin' | 'security', url: string, payload?: Record<string, unknown>) => {
      const s = api.sessions[who];
      const res = await api.app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };

    test('the author of a plan may not approve it when four-eyes is on (403, audited); someone else may', async () => {
      const api = await apiWith({ four_eyes: { plans: true } });
      const preview = await call(api, 'admin', '/api/plans', { identityKeys: ['alice'] });
      assert.equal(preview.status, 201, JSON.stringify(preview.body));
      const id = preview.body.id as string;
      const own = await call(api, 'admin', `/api/plans/${id}/approve`);
      assert.equal(own.status, 403, JSON.stringify(own.body));
      assert.match((own.body.error as { message: string }).message, /four-eyes/);
      const audited = await store.db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'access.denied').where('subject', '=', `plan:${id}`).execute();
      assert.equal(audited.length, 1);
      const other = await call(api, 'security', `/api/plans/${id}/approve`);
      assert.equal(other.status, 200, JSON.stringify(other.body));
      assert.equal(other.body.approvedBy, 'user:sec');
    });
  });
}
