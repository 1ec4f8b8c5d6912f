/**
 * Edits that would let someone grant themselves access, through the API: an
 * HR user linked to their own identity may not change its department or
 * location (which rules read), nor make themselves — or someone below them —
 * another identity's manager; a management cycle is refused; an edit that
 * changes desired access returns what is gained and lost, and a dry run
 * shows it without recording anything. Every refusal is audited. Where an
 * approval policy says `edits: true`, an edit that would give access waits
 * for a second person; one that only removes access does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUser } from '../../src/api/auth/user-store.ts';
import { createApprovalsPort } from '../../src/api/approvals-port.ts';
import type { Policy } from '../../src/domain/policy.ts';
import { policyFileSchema } from '../../src/policy/policy-schema.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { PASSWORD, seedOrganisation, signIn, startApi } from './api-fixture.ts';

const file = policyFileSchema.parse({
  systems: [{ name: 'fin', connector: { type: 'fake' }, owner: 'ceo' }],
  entitlements: [{ system: 'fin', name: 'ledger' }, { system: 'fin', name: 'vault', privileged: true }],
  rules: [
    { name: 'finance', when: { equals: { department: 'finance' } }, grant: { entitlements: ['fin:ledger'] } },
    { name: 'vault-site', when: { equals: { location: 'vault' } }, grant: { entitlements: ['fin:vault'] } },
  ],
});
const policy: Policy = { systems: file.systems ?? [], entitlements: file.entitlements ?? [], roles: [], rules: file.rules ?? [], approvals: [] };

for (const backend of testBackends()) {
  describe(`edits that would grant access to oneself (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const sessions: Record<string, { cookie: string; csrf: string }> = {};

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const person = (key: string, manager: string, department: string) => ({ key, kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ first_name: key, last_name: 'Test', department, location: 'office', manager }) });
      await store.db.insertInto('identities').values([person('hr-1', 'ceo', 'people'), person('hr-report', 'hr-1', 'people')]).execute();
      api = await startApi(store, { services: { policy: async () => policy } });
      await createUser(store.db, { username: 'hr-self', password: PASSWORD, identityKey: 'hr-1', roles: ['hr'] }, 'test');
      sessions.hr = await signIn(api.app, 'hr-self');
      sessions.admin = api.sessions.admin;
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const patch = async (who: string, key: string, payload: Record<string, unknown>, query = '') => {
      const s = sessions[who]!;
      const res = await api.app.inject({ method: 'PATCH', url: `/api/people/${key}${query}`, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const denials = async (subject: string) => (await store.db.selectFrom('audit_log').select('details').where('action', '=', 'access.denied').where('subject', '=', subject).execute()).map((r) => (r.details as { reason: string }).reason);
    const events = async (key: string) => (await store.db.selectFrom('lifecycle_events').select('id').where('identity_key', '=', key).execute()).length;
    const attributesOf = async (key: string) => (await store.db.selectFrom('identities').select('attributes').where('key', '=', key).executeTakeFirstOrThrow()).attributes;

    test('an HR user cannot change the department or location of their own identity: 403, audited, nothing recorded', async () => {
      for (const attributes of [{ department: 'finance' }, { location: 'vault' }, { department: 'finance', phone: '1' }]) {
        const res = await patch('hr', 'hr-1', { attributes });
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.match((res.body.error as { message: string }).message, /own identity/);
      }
      assert.equal(await events('hr-1'), 0);
      assert.deepEqual([(await attributesOf('hr-1')).department, (await attributesOf('hr-1')).location], ['people', 'office']);
      const reasons = await denials('hr-1');
      assert.equal(reasons.length, 3);
      assert.match(reasons[0]!, /department/);
      assert.match(reasons[1]!, /location/);
    });

    test('an HR user may still change a field of their own identity that no policy reads', async () => {
      const res = await patch('hr', 'hr-1', { attributes: { phone: '+1 555 0199' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.access, { gained: [], lost: [] });
    });

    test('nobody makes themselves another identity’s manager, directly or through someone who reports to them', async () => {
      for (const manager of ['hr-1', 'hr-report']) {
        const res = await patch('hr', 'alice', { attributes: { manager } });
        assert.equal(res.status, 403, manager);
        assert.match((res.body.error as { message: string }).message, /manager of alice/);
      }
      assert.equal((await attributesOf('alice')).manager, 'mgr-a');
      assert.equal((await denials('alice')).length, 2);
      assert.equal((await patch('hr', 'alice', { attributes: { manager: 'mgr-b' } })).status, 200, 'someone outside their own line is fine');
      assert.equal((await patch('hr', 'alice', { attributes: { manager: 'mgr-a' } })).status, 200);
    });

    test('a manager change that would put someone above themselves is refused with 400', async () => {
      const res = await patch('admin', 'ceo', { attributes: { manager: 'alice' } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match((res.body.error as { message: string }).message, /cycle \(ceo → alice → mgr-a → ceo\)/);
      assert.equal((await patch('admin', 'alice', { attributes: { manager: 'alice' } })).status, 400);
      assert.equal((await attributesOf('ceo')).manager, null);
    });

    test('an edit that changes desired access returns what is gained and lost; a dry run records nothing', async () => {
      const preview = await patch('hr', 'bob', { attributes: { department: 'finance' } }, '?dryRun=true');
      assert.equal(preview.status, 200, JSON.stringify(preview.body));
      assert.equal(preview.body.dryRun, true);
      assert.deepEqual(preview.body.access, { gained: [{ system: 'fin', entitlement: 'ledger', reasons: ['rule finance'] }], lost: [] });
      assert.equal((await attributesOf('bob')).department, 'eng');
      assert.equal(await events('bob'), 0);

      assert.deepEqual((await patch('hr', 'bob', { attributes: { department: 'finance' } })).body.access, preview.body.access);
      assert.equal((await attributesOf('bob')).department, 'finance');
      const back = await patch('hr', 'bob', { attributes: { department: 'eng' } });
      assert.deepEqual(back.body.access, { gained: [], lost: [{ system: 'fin', entitlement: 'ledger', reasons: ['rule finance'] }] });
    });
  });
}

const withApproval: Policy = { ...policy, approvals: policyFileSchema.parse({ approvals: [{ name: 'access-changing-edits', edits: true, stages: ['manager'] }] }).approvals ?? [] };

for (const backend of testBackends()) {
  describe(`edits that would give access wait for a second person (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const sessions: Record<string, { cookie: string; csrf: string }> = {};

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const now = () => new Date();
      api = await startApi(store, { services: { policy: async () => withApproval, approvals: createApprovalsPort({ db: store.db, policy: async () => withApproval, now }) } });
      await createUser(store.db, { username: 'mgr-b', password: PASSWORD, identityKey: 'mgr-b' }, 'test');
      sessions.hr = api.sessions.hr;
      sessions['mgr-b'] = await signIn(api.app, 'mgr-b');
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const call = async (who: string, method: 'PATCH' | 'POST' | 'GET', url: string, payload?: Record<string, unknown>) => {
      const s = sessions[who]!;
      const res = await api.app.inject({ method, url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const departmentOf = async (key: string) => (await store.db.selectFrom('identities').select('attributes').where('key', '=', key).executeTakeFirstOrThrow()).attributes.department;

    test('an edit that would give access is held for the identity’s manager and recorded only once they approve', async () => {
      const res = await call('hr', 'PATCH', '/api/people/bob', { attributes: { department: 'finance' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const approval = res.body.approval as { requestId: string; stages: { name: string; approvers: string[] }[] };
      assert.deepEqual(approval.stages, [{ name: 'manager', approvers: ['mgr-b'] }]);
      assert.deepEqual((res.body.access as { gained: { entitlement: string }[] }).gained.map((g) => g.entitlement), ['ledger']);
      assert.equal(await departmentOf('bob'), 'eng', 'nothing changes before the approval');

      const inbox = (await call('mgr-b', 'GET', '/api/approvals')).body.items as { id: string; summary: string }[];
      assert.deepEqual(inbox.map((i) => [i.id, i.summary]), [[approval.requestId, 'edit of bob: department']]);
      assert.equal((await call('mgr-b', 'POST', `/api/approvals/${approval.requestId}/decision`, { decision: 'approve' })).status, 200);
      assert.equal(await departmentOf('bob'), 'finance');
      const event = await store.db.selectFrom('lifecycle_events').select(['source', 'changes']).where('identity_key', '=', 'bob').orderBy('seq', 'desc').executeTakeFirstOrThrow();
      assert.deepEqual([event.source, event.changes], ['jml', { department: ['eng', 'finance'] }]);
      const audited = await store.db.selectFrom('audit_log').select(['actor', 'action']).where('trigger', '=', `request:${approval.requestId}`).orderBy('seq').execute();
      assert.deepEqual(audited.map((a) => [a.actor, a.action]), [['user:hr', 'edit.requested'], ['mgr-b', 'approval.approved'], ['user:hr', 'lifecycle.mover'], ['mgr-b', 'edit.approved']]);
    });

    test('an edit that only removes access takes effect at once', async () => {
      const res = await call('hr', 'PATCH', '/api/people/bob', { attributes: { department: 'eng' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.approval, null);
      assert.equal(await departmentOf('bob'), 'eng');
    });
  });
}

