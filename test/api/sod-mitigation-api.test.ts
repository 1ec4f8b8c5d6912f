/**
 * SoD mitigations through the API over the real approvals port: access that
 * would break an SoD rule is refused as a plain request, filed as a
 * mitigation (a control the rule allows, its owner, an end date within the
 * rule's maximum), decided by the manager, the system owner and last the
 * rule's owner, and then shows on the exceptions list with rule and control.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { SOD_POLICY } from '../support/sod-fixture.ts';
import { PASSWORD, PASSWORD_ONLY, seedOrganisation, signIn, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`SoD mitigations through the API (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const sessions: Record<string, { cookie: string; csrf: string }> = {};

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const policy_dir = writePolicyDir({ 'policy.yaml': SOD_POLICY['policy.yaml']!.replace('owner: OWNER', 'owner: own-1').replace('owner: CFO', 'owner: ceo') });
      const config = { ...testConfig(), data_dir: tempDir(), policy_dir };
      api = await startApi(store, { mfa: PASSWORD_ONLY, services: createConsoleServices({ db: store.db, backend: store.backend, config, now: () => new Date() }) });
      await createUser(store.db, { username: 'ceo', password: PASSWORD, identityKey: 'ceo' }, 'test');
      for (const u of ['alice', 'mgr-a', 'own-1', 'ceo']) sessions[u] = await signIn(api.app, u);
      sessions.admin = api.sessions.admin;
      // alice already creates payments.
      await store.db.insertInto('assignments').values({ id: 'asg-create', identity_key: 'alice', system: 'erp', entitlement: 'pay-create', reason_type: 'request', reason: JSON.stringify({ type: 'request', requestId: 'r0', roleChain: [] }), created_by: 'test' }).execute();
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
      const s = sessions[who]!;
      const res = await api.app.inject({ method, url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const pending = async () => (await store.db.selectFrom('access_requests').select('id').where('state', '=', 'pending').execute()).length;

    test('access that would break an SoD rule is refused as a request, and filed as a mitigation that the rule owner decides last and that then shows with its control', async () => {
      const refused = await call('alice', 'POST', '/api/access-requests', { system: 'erp', entitlement: 'pay-approve', justification: 'month-end cover' });
      assert.ok(refused.status >= 400 && refused.status < 500, JSON.stringify(refused.body));
      assert.match(JSON.stringify(refused.body), /payments/);

      const mitigation = { system: 'erp', entitlement: 'pay-approve', justification: 'month-end cover', durationDays: 14, control: 'dual-signature-review', controlOwner: 'mgr-b' };
      for (const [bad, why] of [[{ control: 'trust-me' }, /dual-signature-review/], [{ durationDays: 60 }, /30/], [{ controlOwner: 'alice' }, /other than the person holding the access/]] as const) {
        const res = await call('alice', 'POST', '/api/sod-mitigations', { ...mitigation, ...bad });
        assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(bad)}: ${res.status}`);
        assert.match(JSON.stringify(res.body), why);
      }
      assert.equal(await pending(), 0, 'a refused mitigation files nothing');

      const filed = await call('alice', 'POST', '/api/sod-mitigations', mitigation);
      assert.equal(filed.status, 201, JSON.stringify(filed.body));
      const id = filed.body.id as string;
      for (const who of ['mgr-a', 'own-1', 'ceo']) {
        const decided = await call(who, 'POST', `/api/approvals/${id}/decision`, { decision: 'approve' });
        assert.equal(decided.status, 200, `${who}: ${JSON.stringify(decided.body)}`);
      }
      const steps = await store.db.selectFrom('approval_steps').select(['stage_name', 'decided_by']).where('request_id', '=', id).orderBy('stage').execute();
      assert.deepEqual(steps.map((s) => s.decided_by), ['mgr-a', 'own-1', 'ceo'], 'the rule owner decides last');
      const exceptions = (await call('admin', 'GET', '/api/exceptions')).body.items as { id: string; sod: { rule: string; control: string; controlOwner: string } | null; validTo: string | null }[];
      const mine = exceptions.find((x) => x.id === id);
      assert.deepEqual(mine?.sod, { rule: 'payments', control: 'dual-signature-review', controlOwner: 'mgr-b' });
      assert.ok(mine?.validTo, 'it has an end date');
    });
  });
}
