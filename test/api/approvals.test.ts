/**
 * Access requests through the API over the real approvals port: a person asks
 * for an entitlement, their manager finds it in the inbox and approves, the
 * system owner then decides the second stage and the grant becomes an
 * assignment and a replan request. Another team's manager sees nothing and is
 * refused (audited); nobody decides their own request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import type { ReplanQueue } from '../../src/app/replan-follow-up.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../support/jml-fixture.ts';
import { PASSWORD, seedOrganisation, signIn, startApi } from './api-fixture.ts';

interface Item { id: string; identityKey: string; summary: string; stage: string | null; approvers: string[]; requestedBy: string }

for (const backend of testBackends()) {
  describe(`approvals through the API (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const replans: { keys: readonly string[] | undefined; reason: string }[] = [];
    const sessions: Record<string, { cookie: string; csrf: string }> = {};

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const policy_dir = writePolicyDir({ ...FAKE_WIKI_POLICY, 'systems.yaml': FAKE_WIKI_POLICY['systems.yaml']!.replace('owner: E0', 'owner: own-1') });
      const config = { ...testConfig(), data_dir: tempDir(), policy_dir };
      const queue: ReplanQueue = { requestReplan: async (keys, reason) => void replans.push({ keys, reason }) };
      const now = () => new Date();
      api = await startApi(store, { services: createConsoleServices({ db: store.db, backend: store.backend, config, now, replan: queue }) });
      for (const u of ['mgr-b', 'bob']) await createUser(store.db, { username: u, password: PASSWORD, identityKey: u }, 'test');
      for (const u of ['alice', 'mgr-a', 'mgr-b', 'own-1', 'bob']) sessions[u] = await signIn(api.app, u);
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
    const inbox = async (who: string) => ((await call(who, 'GET', '/api/approvals')).body.items as Item[]);
    const denials = async () => (await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'access.denied').execute()).length;

    test('a request goes to the manager, then the system owner, and ends as an assignment and a replan', async () => {
      const filed = await call('alice', 'POST', '/api/access-requests', { system: 'wiki', entitlement: 'eng', justification: 'joining the platform team' });
      assert.equal(filed.status, 201, JSON.stringify(filed.body));
      const id = filed.body.id as string;
      assert.equal(filed.body.stage, 'manager');

      assert.deepEqual((await inbox('mgr-a')).map((i) => [i.id, i.summary, i.stage]), [[id, 'wiki:eng', 'manager']]);
      assert.deepEqual(await inbox('mgr-b'), [], 'another team’s manager sees nothing');
      assert.deepEqual(await inbox('own-1'), [], 'the system owner’s stage waits for the manager’s');
      assert.deepEqual(await inbox('alice'), [], 'nobody has their own request in their inbox');

      assert.equal((await call('mgr-a', 'POST', `/api/approvals/${id}/decision`, { decision: 'approve', comment: 'ok' })).status, 200);
      assert.deepEqual(await inbox('mgr-a'), []);
      assert.deepEqual((await inbox('own-1')).map((i) => [i.id, i.stage, i.approvers]), [[id, 'system_owner', ['own-1']]]);
      assert.equal(replans.length, 0, 'a stage in between changes nothing downstream');

      assert.equal((await call('own-1', 'POST', `/api/approvals/${id}/decision`, { decision: 'approve' })).status, 200);
      const rows = await store.db.selectFrom('assignments').select(['identity_key', 'system', 'entitlement', 'reason_type', 'created_by']).where('identity_key', '=', 'alice').execute();
      assert.deepEqual(rows, [{ identity_key: 'alice', system: 'wiki', entitlement: 'eng', reason_type: 'request', created_by: 'own-1' }]);
      assert.deepEqual(replans.map((r) => r.keys), [['alice']]);

      const again = await call('own-1', 'POST', `/api/approvals/${id}/decision`, { decision: 'reject' });
      assert.equal(again.status, 409, 'a decided request cannot be decided again');
      const me = await call('alice', 'GET', '/api/me');
      assert.deepEqual((me.body.requests as (Item & { state: string })[]).map((r) => [r.id, r.state]), [[id, 'approved']]);
    });

    test('another team’s manager is refused a decision with 404, and the refusal is audited', async () => {
      const filed = await call('alice', 'POST', '/api/access-requests', { system: 'wiki', entitlement: 'admins', justification: 'page edits' });
      const id = filed.body.id as string;
      const before = await denials();
      const res = await call('mgr-b', 'POST', `/api/approvals/${id}/decision`, { decision: 'approve' });
      assert.equal(res.status, 404);
      assert.equal(await denials(), before + 1);
      const early = await call('own-1', 'POST', `/api/approvals/${id}/decision`, { decision: 'approve' });
      assert.equal(early.status, 403, 'the system owner decides only once the manager has');
      const steps = await store.db.selectFrom('approval_steps').select('state').where('request_id', '=', id).orderBy('stage').execute();
      assert.deepEqual(steps.map((s) => s.state), ['open', 'waiting'], 'nothing was decided');
    });

    test('nobody approves their own request or one for themselves: 403, audited', async () => {
      const filed = await call('mgr-a', 'POST', '/api/access-requests', { identityKey: 'alice', system: 'wiki', entitlement: 'staff', justification: 'for her first week' });
      assert.equal(filed.status, 201, 'a manager requests for their report');
      const id = filed.body.id as string;
      assert.ok(!(filed.body.approvers as string[]).includes('mgr-a'), 'the requester is never an approver of it');
      for (const who of ['mgr-a', 'alice']) {
        const before = await denials();
        const res = await call(who, 'POST', `/api/approvals/${id}/decision`, { decision: 'approve' });
        assert.equal(res.status, 403, who);
        assert.match((res.body.error as { message: string }).message, /own request|for themselves/);
        assert.equal(await denials(), before + 1);
      }
    });

    test('the identity page shows a joiner held for approval (which request, which stage, on whom), until the decision', async () => {
      const at = new Date().toISOString();
      await store.db.insertInto('identities').values(['carol', 'dave'].map((key) => ({ key, kind: 'employee', status: 'pending', source: 'hr', attributes: JSON.stringify({ first_name: key, last_name: 'Test', manager: 'mgr-a' }) }))).execute();
      for (const key of ['carol', 'dave']) {
        await store.db.insertInto('access_requests').values({ id: `req-j-${key}`, kind: 'joiner', requester: 'jml', identity_key: key, role: null, entitlements: JSON.stringify([]), justification: 'joiner approval (all)', duration_days: null, state: 'pending', created_at: at }).execute();
        await store.db.insertInto('approval_steps').values({ id: `req-j-${key}-1`, request_id: `req-j-${key}`, stage: 1, stage_name: 'manager', approvers: ['mgr-a'], state: 'open', due_at: at, timeout_hours: 72, escalate_to: null }).execute();
      }
      const hold = async (key: string) => ((await call('mgr-a', 'GET', `/api/people/${key}`)).body.access as { joinerHold: unknown }).joinerHold;
      assert.deepEqual(await hold('carol'), { requestId: 'req-j-carol', state: 'pending', stage: 'manager', approvers: ['mgr-a'] });
      assert.equal(await hold('alice'), null, 'nobody holds alice');
      assert.ok((await inbox('mgr-a')).some((i) => i.id === 'req-j-carol' && i.summary === 'joiner approval for carol'));

      assert.equal((await call('mgr-a', 'POST', '/api/approvals/req-j-carol/decision', { decision: 'approve' })).status, 200);
      assert.equal(await hold('carol'), null);
      assert.deepEqual(replans.at(-1)?.keys, ['carol']);
      assert.equal((await call('mgr-a', 'POST', '/api/approvals/req-j-dave/decision', { decision: 'reject', comment: 'offer withdrawn' })).status, 200);
      assert.deepEqual(await hold('dave'), { requestId: 'req-j-dave', state: 'denied', stage: null, approvers: [] });
    });

    test('a request for an entitlement not in the catalogue is refused with 404 naming it, and nothing is filed', async () => {
      const res = await call('alice', 'POST', '/api/access-requests', { system: 'wiki', entitlement: 'superusers', justification: 'because I can' });
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.match((res.body.error as { message: string }).message, /wiki:superusers/);
      const filed = await store.db.selectFrom('access_requests').select('entitlements').execute();
      assert.ok(!filed.some((r) => r.entitlements.some((e) => e.entitlement === 'superusers')));
    });

    test('a manager may not request access for someone outside their team', async () => {
      const res = await call('mgr-a', 'POST', '/api/access-requests', { identityKey: 'bob', system: 'wiki', entitlement: 'staff', justification: 'help out' });
      assert.equal(res.status, 404);
      const count = await store.db.selectFrom('access_requests').select('id').where('identity_key', '=', 'bob').execute();
      assert.deepEqual(count, []);
    });
  });
}
